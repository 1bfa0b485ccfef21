import { ArgumentMetadata } from '@nestjs/common';
import { IsISO8601, IsOptional, IsString } from 'class-validator';
import { AppError } from '../errors/app-error';
import { AppValidationPipe } from './validation';

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

describe('AppValidationPipe: the storable-text rule on every body, query and path value', () => {
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
