import { ArgumentMetadata } from '@nestjs/common';
import { IsISO8601, IsObject, IsOptional, IsString } from 'class-validator';
import { AppError } from '../errors/app-error';
import { AppValidationPipe, KeepAsSent } from './validation';

class Body {
  @IsString() name!: string;
  @IsOptional() @IsISO8601({ strict: true }, { message: 'since must be an ISO-8601 date-time' }) since?: string;
}

const pipe = new AppValidationPipe();
const body: ArgumentMetadata = { type: 'body', metatype: Body };

async function refusal(value: unknown, metadata: ArgumentMetadata): Promise<AppError> {
  const error = await pipe.transform(value, metadata).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('AppValidationPipe: the storable-json rule on every body, query and path value', () => {
  it('lets storable text through', async () => {
    await expect(pipe.transform({ name: 'ok 😀' }, body)).resolves.toEqual({ name: 'ok 😀' });
    await expect(pipe.transform('wh_1', { type: 'param', metatype: String, data: 'webhookId' })).resolves.toBe('wh_1');
  });

  it('a body string holding NUL is a 422 located in the body', async () => {
    const error = await refusal({ name: 'a\u0000' }, body);
    expect(error.status).toBe(422);
    expect(error.details).toEqual([{ loc: ['body', 'name'], type: 'value_error', msg: expect.stringContaining('name holds U+0000') }]);
  });

  it('keeps the 400 when the body is also malformed, and lists the 422 beside it; an unknown bad key is escaped', async () => {
    const error = await refusal({ name: 'x', since: 'soon\uD800', ['k\u0000']: 1 }, body);
    expect(error.status).toBe(400);
    expect(error.details.map((d) => [d.type, d.loc])).toEqual([
      ['validation_error', ['body', 'k\\u0000']],
      ['validation_error', ['body', 'since']],
      ['value_error', ['body', 'since']],
      ['value_error', ['body', 'k\\u0000']],
    ]);
  });

  it('path parameters and query values are located by their names', async () => {
    expect((await refusal('wh\u0000', { type: 'param', metatype: String, data: 'webhookId' })).details[0].loc).toEqual(['path', 'webhookId']);
    expect((await refusal({ eventType: 'A\u0000' }, { type: 'query', metatype: Object })).details[0].loc).toEqual(['query', 'eventType']);
    expect((await refusal('A\uDC00', { type: 'query', metatype: String, data: 'q' })).details[0].loc).toEqual(['query', 'q']);
  });
});

describe('KeepAsSent', () => {
  class Free {
    @IsObject() @KeepAsSent() kept!: Record<string, unknown>;
    @IsObject() rebuilt!: Record<string, unknown>;
  }

  it("keeps keys class-transformer drops when it rebuilds a plain object (Object.prototype's names)", async () => {
    const json = JSON.parse('{"valueOf": [], "toString": "s", "deep": {"hasOwnProperty": true, "isPrototypeOf": null}}') as Record<string, unknown>;
    const result = (await pipe.transform({ kept: json, rebuilt: json }, { type: 'body', metatype: Free })) as Free;
    expect(JSON.stringify(result.kept)).toBe(JSON.stringify(json));
    // Why the decorator exists: without it those keys are gone.
    expect(result.rebuilt).toEqual({ deep: {} });
  });

  it('refuses, rather than drops, the keys the framework strips (__proto__, constructor, prototype)', async () => {
    const json = JSON.parse('{"a": 1, "deep": {"__proto__": {"polluted": true}, "constructor": 1}}') as Record<string, unknown>;
    const error = await refusal({ kept: json, rebuilt: {} }, { type: 'body', metatype: Free });
    expect(error.details.map((d) => d.loc)).toEqual([
      ['body', 'kept', 'deep', '__proto__'],
      ['body', 'kept', 'deep', 'constructor'],
    ]);
  });
});
