/**
 * Every column that holds a value sealed by SecretBox, and the associated data each value is sealed with:
 * its table, its row's key and its column, so a value copied to another row or column does not open.
 * The repositories seal and open with `sealContext`; the `secrets re-encrypt` command walks SEALED_TABLES.
 */
export interface SealedTable {
  table: string;
  /** The primary key's columns, in the order sealContext takes their values. */
  key: readonly string[];
  columns: readonly string[];
}

const WEBHOOK_SEALS = {
  table: 'webhooks',
  key: ['id'],
  columns: ['headers_sealed', 'secret_sealed', 'previous_secret_sealed'],
} as const satisfies SealedTable;

export const IDEMPOTENCY_SEALS = {
  table: 'idempotency_keys',
  key: ['department_id', 'key'],
  columns: ['response_sealed'],
} as const satisfies SealedTable;

export const SEALED_TABLES: readonly SealedTable[] = [WEBHOOK_SEALS, IDEMPOTENCY_SEALS];

/** The associated data of one sealed value, e.g. `["webhooks","wh_1","secret_sealed"]` (JSON: no value can be read as another's). */
export function sealContext<T extends SealedTable>(seals: T, key: readonly string[], column: T['columns'][number]): string {
  if (key.length !== seals.key.length) throw new Error(`${seals.table} rows are keyed by ${seals.key.join(', ')}`);
  return JSON.stringify([seals.table, ...key, column]);
}

/** The context of a webhook's sealed column. */
export function webhookSealContext(webhookId: string, column: (typeof WEBHOOK_SEALS)['columns'][number]): string {
  return sealContext(WEBHOOK_SEALS, [webhookId], column);
}
