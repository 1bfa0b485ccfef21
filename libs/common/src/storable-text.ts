/**
 * The rule for text the service accepts (API bodies, query and path values, published events): a
 * string, value or object key at any depth, must not hold U+0000 or a lone UTF-16 surrogate.
 * PostgreSQL refuses both in jsonb (the API answered 500) and node-postgres silently turns lone
 * surrogates into U+FFFD in text columns (stored, then delivered, as something else than was sent).
 * Keys that the framework strips from bodies (RESERVED_KEYS) are refused by the same rule.
 */

/**
 * Keys Nest's ValidationPipe deletes from every body as a defence against prototype pollution: they
 * could not be stored as sent, so they are refused like the text above rather than silently dropped.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** One string that cannot be stored, located from the root of the value scanned. */
export interface UnstorableText {
  /** Path to the string, e.g. ['data', 'answers', 2, 'text']; a bad key is located by itself. */
  loc: (string | number)[];
  msg: string;
}

/** Enough to fix a request, and a bounded answer however many bad strings a 1 MiB body holds. */
export const MAX_UNSTORABLE_REPORTED = 20;

// Without the u flag a regex sees UTF-16 code units, so unpaired halves are found by look-around.
// eslint-disable-next-line no-control-regex -- NUL is the character looked for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

const codePoint = (unit: string): string => `U+${unit.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why this string cannot be stored, or null when it can. */
export function unstorableReason(text: string): string | null {
  const found = UNSTORABLE.exec(text);
  if (!found) return null;
  return found[0] === '\u0000' ? 'holds U+0000 (NUL)' : `holds a lone surrogate (${codePoint(found[0])})`;
}

/** The text with each NUL and lone surrogate written as a visible `\uXXXX`, safe to show in an error. */
export function escapeUnstorable(text: string): string {
  return text.replace(UNSTORABLE_ALL, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const PLAIN_KEY = /^[^.[\]\s"]+$/;

/** Deeper paths are shown by their first parts and an ellipsis (the loc array keeps them all). */
const MAX_SHOWN_PARTS = 50;

/** A loc as a reader writes it: `data.answers[2].text`, `headers.X-Foo`, `data["a b"]`. */
export function formatFieldPath(loc: (string | number)[]): string {
  if (loc.length > MAX_SHOWN_PARTS) return `${formatFieldPath(loc.slice(0, MAX_SHOWN_PARTS))}…`;
  return loc.reduce<string>((path, part) => {
    if (typeof part === 'number') return `${path}[${part}]`;
    if (PLAIN_KEY.test(part)) return path ? `${path}.${part}` : part;
    return `${path}[${JSON.stringify(part)}]`;
  }, '');
}

interface Visit {
  value: unknown;
  key: string | number | undefined;
  parent: Visit | undefined;
  /** Set when the key itself cannot be stored (the message's end): its value is then not looked into. */
  badKey?: string;
}

function locOf(visit: Visit): (string | number)[] {
  const loc: (string | number)[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) loc.push(typeof at.key === 'string' ? escapeUnstorable(at.key) : at.key);
  return loc.reverse();
}

const RULE = 'text must be valid Unicode without NUL';

function keyProblem(key: string): string | undefined {
  if (RESERVED_KEYS.has(key)) return 'is reserved: __proto__, constructor and prototype cannot be stored as keys';
  const reason = unstorableReason(key);
  return reason ? `${reason}: ${RULE}` : undefined;
}

/**
 * Every string (value or key) in `value` that cannot be stored, at most `limit`, in document order,
 * located below `at` (e.g. ['webhookId'] for a path parameter's value).
 * Iterative with parent links, so a deeply nested body neither overflows the stack nor copies a path
 * per node. Keys in the returned locs are escaped: an error never echoes the bytes it refuses.
 */
export function findUnstorableText(value: unknown, at: (string | number)[] = [], limit = MAX_UNSTORABLE_REPORTED): UnstorableText[] {
  const found: UnstorableText[] = [];
  const root = at.reduce<Visit>((parent, key) => ({ value: undefined, key, parent }), { value: undefined, key: undefined, parent: undefined });
  const stack: Visit[] = [{ ...root, value }];
  while (stack.length > 0 && found.length < limit) {
    const visit = stack.pop()!;
    const here = visit.value;
    if (visit.badKey) {
      const loc = locOf(visit);
      found.push({ loc, msg: `Field name ${formatFieldPath(loc)} ${visit.badKey}` });
    } else if (typeof here === 'string') {
      const reason = unstorableReason(here);
      if (reason) {
        const loc = locOf(visit);
        found.push({ loc, msg: `${formatFieldPath(loc) || 'value'} ${reason}: ${RULE}` });
      }
    } else if (Array.isArray(here)) {
      for (let i = here.length - 1; i >= 0; i--) stack.push({ value: here[i], key: i, parent: visit });
    } else if (here !== null && typeof here === 'object') {
      const keys = Object.keys(here);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const badKey = keyProblem(key);
        stack.push({ value: badKey ? undefined : (here as Record<string, unknown>)[key], key, parent: visit, badKey });
      }
    }
  }
  return found;
}
