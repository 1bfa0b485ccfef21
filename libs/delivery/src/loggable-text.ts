/*
 * Text that came off the network (response bodies, headers, error messages quoting them) goes into
 * PostgreSQL `text` columns and in front of people. PostgreSQL rejects U+0000 in `text`, and a
 * JavaScript string may hold lone surrogates that no UTF-8 encoder can write faithfully, so every
 * such string passes through loggableText first.
 */

// C0 controls except \t \n \r, and DEL: NUL is what PostgreSQL refuses; the others garble terminals and log viewers.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const REPLACEMENT_CHARACTER = '\ufffd';

function escapeControl(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Bytes or a string made safe for a PostgreSQL `text` column and readable by a person:
 * - bytes are decoded as UTF-8, every invalid sequence (including a character cut at a size limit)
 *   becoming U+FFFD; lone surrogates in a string become U+FFFD too;
 * - C0 control characters other than tab, LF and CR, and DEL, are written as the six ASCII
 *   characters `\u0000` … `\u001f`, `\u007f`. Chosen over U+2400 control pictures because the escape
 *   is plain ASCII, which every viewer shows, and reads as the JSON escape developers already know.
 *   A receiver's literal text `\u0000` therefore looks the same; the log is for reading, not replay.
 */
export function loggableText(input: Uint8Array | string): string {
  const text =
    typeof input === 'string' ? input.replace(LONE_SURROGATES, REPLACEMENT_CHARACTER) : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
  return text.replace(CONTROL_CHARACTERS, escapeControl);
}

/** The first `max` UTF-16 units of `text`, one fewer if that would split a surrogate pair. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = max > 0 && /[\ud800-\udbff]/.test(text[max - 1]) ? max - 1 : max;
  return text.slice(0, end);
}
