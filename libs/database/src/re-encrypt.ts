import { SecretBox, UnsealError } from '@pollarix/common';
import { EntityManager } from 'typeorm';
import { IDEMPOTENCY_TTL_MS } from './repositories/idempotency.repository';
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
  /** Rows whose only values under an older key are expired (the service never reads them again): left as they are. */
  expired: number;
}

export interface ReEncryptOptions {
  pageSize?: number;
  progress?: ReEncryptProgress;
}

/** How often one row is read again when the service changed it between the read and the write. */
const ROW_TRIES = 5;

type SealedRow = Record<string, string | null>;
type Outcome = 'reEncrypted' | 'current' | 'busy' | 'unreadable' | 'expired' | 'gone';

/**
 * Per table, the columns whose value the service stops reading at some point, with the SQL condition
 * under which it no longer does: those values are left alone, whatever key sealed them.
 */
const EXPIRES: Record<string, Record<string, string>> = {
  // A previous signing secret signs until its overlap ends (WebhookRepository.getSigningSecrets, holdTarget).
  webhooks: { previous_secret_sealed: 'previous_secret_expires_at IS NULL OR previous_secret_expires_at <= now()' },
  // A stored response replays for IDEMPOTENCY_TTL_MS (IdempotencyRepository.find), then only gets replaced.
  idempotency_keys: { response_sealed: `created_at <= now() - make_interval(secs => ${IDEMPOTENCY_TTL_MS / 1000})` },
};

/** The flag column the select adds for an expiring column: true once its value is no longer read. */
const expiredFlag = (column: string) => `${column}:expired`;
const isExpired = (row: SealedRow, column: string) => (row as Record<string, unknown>)[expiredFlag(column)] === true;

/** `SELECT` of a table's keys, sealed columns and expiry flags, for a WHERE… to follow. */
function selectSealed(seals: SealedTable): string {
  const flags = Object.entries(EXPIRES[seals.table] ?? {}).map(([column, condition]) => `(${condition}) AS "${expiredFlag(column)}"`);
  return `SELECT ${[...seals.key, ...seals.columns].map((column) => `"${column}"`).join(', ')}${flags.map((flag) => `, ${flag}`).join('')} FROM ${seals.table}`;
}

/**
 * Seals every value of SEALED_TABLES again under the newest key of `box`, a page of rows at a time. Safe
 * beside the running service: a row is written only where its sealed columns still hold what was read
 * (compare-and-set), so an update or a secret rotation in between is never overwritten (the row is read
 * again); the plaintext does not change, so nothing the service holds decrypted goes stale, and
 * `updated_at` is left alone. Rerunnable: values already under the newest key are not rewritten. Values the
 * service no longer reads (EXPIRES: an ended secret overlap, an idempotent response past its TTL) are left as
 * they are, even when no key of the ring opens them.
 */
export async function reEncryptSecrets(manager: EntityManager, box: SecretBox, options: ReEncryptOptions = {}): Promise<ReEncryptResult> {
  const pageSize = options.pageSize ?? 500;
  const result: ReEncryptResult = { rows: 0, reEncrypted: 0, current: 0, busy: 0, unreadable: [], expired: 0 };
  let total = 0;
  for (const seals of SEALED_TABLES) {
    const [{ count }]: { count: string }[] = await manager.query(`SELECT count(*) AS count FROM ${seals.table}`);
    total += Number(count);
  }
  options.progress?.start(total);
  for (const seals of SEALED_TABLES) {
    const keys = seals.key.map((column) => `"${column}"`).join(', ');
    const select = selectSealed(seals);
    let after: string[] | null = null;
    for (;;) {
      const page: SealedRow[] = after
        ? await manager.query(`${select} WHERE (${keys}) > (${after.map((_, i) => `$${i + 1}`).join(', ')}) ORDER BY ${keys} LIMIT ${pageSize}`, after)
        : await manager.query(`${select} ORDER BY ${keys} LIMIT ${pageSize}`);
      for (const row of page) {
        const outcome = await reEncryptRow(manager, box, seals, select, row);
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

async function reEncryptRow(manager: EntityManager, box: SecretBox, seals: SealedTable, select: string, read: SealedRow): Promise<Outcome> {
  const key = keyOf(seals, read);
  let row: SealedRow | undefined = read;
  for (let tries = 0; tries < ROW_TRIES; tries++) {
    if (!row) return 'gone';
    const old = seals.columns.filter((column) => row![column] !== null && !box.isCurrent(row![column]));
    const stale = old.filter((column) => !isExpired(row!, column));
    if (stale.length === 0) return old.length > 0 ? 'expired' : 'current';
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
    const again: SealedRow[] = await manager.query(`${select} WHERE ${keyEquals(seals)}`, key);
    row = again[0];
  }
  return 'busy';
}
