/**
 * The rule for text the service accepts (API bodies, query and path values, published events): a
 * string, value or object key at any depth, must not hold U+0000 or a lone UTF-16 surrogate.
 * PostgreSQL refuses both in jsonb (the API answered 500) and node-postgres silently turns lone
 * surrogates into U+FFFD in text columns (stored, then delivered, as something else than was sent).
 * Keys that the framework strips from bodies (RESERVED_KEYS) are refused by the same rule, and so is
 * JSON nested deeper than MAX_JSON_DEPTH.
 */

/**
 * Keys Nest's ValidationPipe deletes from every body as a defence against prototype pollution: they
 * could not be stored as sent, so they are refused like the text above rather than silently dropped.
 */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Deepest nesting accepted (the body object is level 1). JSON.parse takes any depth, but the recursive
 * walks after it (Nest's ValidationPipe, class-transformer, JSON.stringify, PostgreSQL's jsonb input)
 * overflowed their stacks near 5,000 levels, which a 1 MiB body easily holds, and answered 500.
 */
export const MAX_JSON_DEPTH = 64;

/** One string that cannot be stored, located from the root of the value scanned. */
export interface Unstorable {
  /** Path to the string, e.g. ['data', 'answers', 2, 'text']; a bad key is located by itself. */
  loc: (string | number)[];
  msg: string;
  /** Nested deeper than MAX_JSON_DEPTH: nothing else may walk this value (it could overflow a stack). */
  tooDeep?: true;
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
  /** Objects and arrays around the value (the root's children are at depth 1). */
  depth: number;
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
 * Every string (value or key) in `value` that cannot be stored, and every object or array nested too
 * deep, at most `limit`, in document order, located below `at` (e.g. ['webhookId'] for a path
 * parameter's value).
 * Iterative with parent links, so a deeply nested body neither overflows the stack nor copies a path
 * per node. Keys in the returned locs are escaped: an error never echoes the bytes it refuses.
 */
export function findUnstorable(value: unknown, at: (string | number)[] = [], limit = MAX_UNSTORABLE_REPORTED): Unstorable[] {
  const found: Unstorable[] = [];
  const root = at.reduce<Visit>((parent, key) => ({ value: undefined, key, parent, depth: 0 }), { value: undefined, key: undefined, parent: undefined, depth: 0 });
  const stack: Visit[] = [{ ...root, value }];
  // Past the limit the walk goes on, reporting nothing but a too deep value: that one must be known.
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const here = visit.value;
    const reporting = found.length < limit;
    if (visit.badKey) {
      if (reporting) found.push({ loc: locOf(visit), msg: `Field name ${formatFieldPath(locOf(visit))} ${visit.badKey}` });
    } else if (typeof here === 'string') {
      const reason = reporting && unstorableReason(here);
      if (reason) found.push({ loc: locOf(visit), msg: `${formatFieldPath(locOf(visit)) || 'value'} ${reason}: ${RULE}` });
    } else if (here !== null && typeof here === 'object' && visit.depth >= MAX_JSON_DEPTH) {
      const loc = locOf(visit);
      found.push({ loc, msg: `${formatFieldPath(loc) || 'value'} is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`, tooDeep: true });
      break;
    } else if (Array.isArray(here)) {
      for (let i = here.length - 1; i >= 0; i--) stack.push({ value: here[i], key: i, parent: visit, depth: visit.depth + 1 });
    } else if (here !== null && typeof here === 'object') {
      const keys = Object.keys(here);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i];
        const badKey = keyProblem(key);
        stack.push({ value: badKey ? undefined : (here as Record<string, unknown>)[key], key, parent: visit, depth: visit.depth + 1, badKey });
      }
    }
  }
  return found;
}
