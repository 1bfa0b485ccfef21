import { SecretBox, UnsealError } from '@pollarix/common';
import { EntityManager } from 'typeorm';
import { returningRows } from './repositories/raw-query';
import { SEALED_TABLES, sealContext, SealedTable } from './sealed-columns';

export interface ReEncryptProgress {
  start(total: number): void;
  update(done: number): void;
}

export interface ReEncryptResult {
  /** Rows read. */
  rows: number;
  /** Rows with at least one value sealed again under the newest key. */
  reEncrypted: number;
  /** Rows whose values were all under the newest key already. */
  current: number;
  /** Rows that kept changing under this run (written by the service each time it tried): run again. */
  busy: number;
  /** Rows with a value no key of the ring opens, as `table key…`: their webhooks cannot deliver. */
  unreadable: string[];
}

export interface ReEncryptOptions {
  pageSize?: number;
  progress?: ReEncryptProgress;
}

/** How often one row is read again when the service changed it between the read and the write. */
const ROW_TRIES = 5;

type SealedRow = Record<string, string | null>;
type Outcome = 'reEncrypted' | 'current' | 'busy' | 'unreadable' | 'gone';

/**
 * Seals every value of SEALED_TABLES again under the newest key of `box`, a page of rows at a time. Safe
 * beside the running service: a row is written only where its sealed columns still hold what was read
 * (compare-and-set), so an update or a secret rotation in between is never overwritten (the row is read
 * again); the plaintext does not change, so nothing the service holds decrypted goes stale, and
 * `updated_at` is left alone. Rerunnable: values already under the newest key are not rewritten.
 */
export async function reEncryptSecrets(manager: EntityManager, box: SecretBox, options: ReEncryptOptions = {}): Promise<ReEncryptResult> {
  const pageSize = options.pageSize ?? 500;
  const result: ReEncryptResult = { rows: 0, reEncrypted: 0, current: 0, busy: 0, unreadable: [] };
  let total = 0;
  for (const seals of SEALED_TABLES) {
    const [{ count }]: { count: string }[] = await manager.query(`SELECT count(*) AS count FROM ${seals.table}`);
    total += Number(count);
  }
  options.progress?.start(total);
  for (const seals of SEALED_TABLES) {
    const keys = seals.key.map((column) => `"${column}"`).join(', ');
    const select = `SELECT ${keys}, ${seals.columns.map((column) => `"${column}"`).join(', ')} FROM ${seals.table}`;
    let after: string[] | null = null;
    for (;;) {
      const page: SealedRow[] = after
        ? await manager.query(`${select} WHERE (${keys}) > (${after.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ${keys} LIMIT ${pageSize}`, after)
        : await manager.query(`${select} ORDER BY ${keys} LIMIT ${pageSize}`);
      for (const row of page) {
        const outcome = await reEncryptRow(manager, box, seals, row);
        if (outcome === 'unreadable') result.unreadable.push(`${seals.table} ${keyOf(seals, row).join(' ')}`);
        else if (outcome !== 'gone') result[outcome]++;
        result.rows++;
      }
      options.progress?.update(result.rows);
      if (page.length < pageSize) break;
      after = keyOf(seals, page[page.length - 1]);
    }
  }
  return result;
}

/** `"k1" = $1 AND "k2" = $2`: the row whose key is the first parameters. */
function keyEquals(seals: SealedTable): string {
  return seals.key.map((column, i) => `"${column}" = $${i + 1}`).join(' AND ');
}

function keyOf(seals: SealedTable, row: SealedRow): string[] {
  return seals.key.map((column) => row[column]!);
}

async function reEncryptRow(manager: EntityManager, box: SecretBox, seals: SealedTable, read: SealedRow): Promise<Outcome> {
  const key = keyOf(seals, read);
  let row: SealedRow | undefined = read;
  for (let tries = 0; tries < ROW_TRIES; tries++) {
    if (!row) return 'gone';
    const stale = seals.columns.filter((column) => row![column] !== null && !box.isCurrent(row![column]));
    if (stale.length === 0) return 'current';
    let sealed: string[];
    try {
      sealed = stale.map((column) => box.reseal(row![column]!, sealContext(seals, key, column)));
    } catch (error) {
      if (error instanceof UnsealError) return 'unreadable';
      throw error;
    }
    // $1…: the key, then the new values, then the values read (compare-and-set).
    const where = [keyEquals(seals), ...stale.map((column, i) => `"${column}" = $${key.length + stale.length + i + 1}`)].join(' AND ');
    const set = stale.map((column, i) => `"${column}" = $${key.length + i + 1}`).join(', ');
    const written = await returningRows(manager, `UPDATE ${seals.table} SET ${set} WHERE ${where} RETURNING 1`, [
      ...key,
      ...sealed,
      ...stale.map((column) => row![column]),
    ]);
    if (written.length > 0) return 'reEncrypted';
    const again: SealedRow[] = await manager.query(`SELECT * FROM ${seals.table} WHERE ${keyEquals(seals)}`, key);
    row = again[0];
  }
  return 'busy';
}
