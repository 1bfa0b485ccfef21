import fc from 'fast-check';
import type { JsonResponse } from './api-harness';

/** Bodies per fuzzed route: 2,000 in `npm test`; FUZZ_RUNS=20000 (say) for a longer run. */
export const FUZZ_RUNS = fuzzRuns(process.env.FUZZ_RUNS);

function fuzzRuns(value: string | undefined): number {
  if (value === undefined || value === '') return 2000;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not ${JSON.stringify(value)}`);
  return runs;
}

/** A bound for one property, not a speed check: generous for a slow, shared machine. */
export const fuzzTimeout = (runs = FUZZ_RUNS): number => 120_000 + runs * 150;

const ascii = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 });
/** Any code point but U+0000: controls, noncharacters, astral ones (as surrogate pairs). */
const storableUnit = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => c !== '\u0000');
/** What PostgreSQL cannot store: NUL, and a lone high or low surrogate. */
const unstorableUnit = fc.oneof(
  fc.constant('\u0000'),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
);
const cleanUnit = fc.oneof(ascii, storableUnit);
const anyUnit = fc.oneof({ weight: 4, arbitrary: ascii }, { weight: 4, arbitrary: storableUnit }, { weight: 2, arbitrary: unstorableUnit });

/** Strings and JSON values (keys included) made of one kind of text. */
export interface TextKit {
  text(maxLength?: number): fc.Arbitrary<string>;
  json(maxDepth?: number): fc.Arbitrary<unknown>;
}

const kit = (unit: fc.Arbitrary<string>): TextKit => ({
  text: (maxLength = 30) => fc.string({ unit, maxLength }),
  json: (maxDepth = 3) => fc.jsonValue({ stringUnit: unit, maxDepth }),
});

/** Storable text from all of Unicode (ASCII half the time, so that valid values happen). */
const storableText = kit(cleanUnit);
/** Text from all of Unicode with NUL and lone surrogates: one unit in five. */
export const anyText = kit(anyUnit);

/** Bodies built from storable text three times in four, else from any text: both paths get exercised. */
export const mixedText = <T>(build: (kit: TextKit) => fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: build(storableText) }, { weight: 1, arbitrary: build(anyText) });

/** Not a JSON object at all: a JSON value of another kind, or any text. */
export const junkRaw: fc.Arbitrary<string> = fc.oneof(
  anyText.json().map((value) => JSON.stringify(value) ?? 'null'),
  anyText.text(60),
);

/**
 * The test's own oracle, independent of the code under test: a string is unstorable when it holds
 * NUL or does not survive a UTF-8 round trip (a lone surrogate becomes U+FFFD). Keys count.
 */
export function holdsUnstorable(value: unknown): boolean {
  const bad = (text: string) => text.includes('\u0000') || Buffer.from(text, 'utf8').toString('utf8') !== text;
  if (typeof value === 'string') return bad(value);
  if (Array.isArray(value)) return value.some(holdsUnstorable);
  if (value !== null && typeof value === 'object') return Object.entries(value).some(([key, item]) => bad(key) || holdsUnstorable(item));
  return false;
}

/** Never a 500; a 4xx is in the API's error format (a 2xx's shape is the caller's to check). */
export function expectErrorFormatOrSuccess(res: JsonResponse): void {
  expect(res.status).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.body).toEqual({ status: res.status, detail: expect.any(Array) });
  expect(res.body.detail.length).toBeGreaterThan(0);
  for (const item of res.body.detail as Record<string, unknown>[]) {
    expect(typeof item.msg).toBe('string');
    expect(typeof item.type).toBe('string');
    if (item.loc !== undefined) expect(Array.isArray(item.loc)).toBe(true);
  }
}

/** How a property's bodies were answered: it must have exercised both paths, and the rule. */
export class FuzzOutcomes {
  accepted = 0;
  refused = 0;
  refusedUnstorable = 0;

  record(accepted: boolean, unstorable: boolean): void {
    if (accepted) this.accepted++;
    else if (unstorable) this.refusedUnstorable++;
    else this.refused++;
  }

  expectBothPaths(): void {
    expect(this.accepted).toBeGreaterThan(0);
    expect(this.refused).toBeGreaterThan(0);
    expect(this.refusedUnstorable).toBeGreaterThan(0);
  }

  summary(): string {
    return `${this.accepted} accepted, ${this.refused} refused, ${this.refusedUnstorable} refused holding unstorable text`;
  }
}
