import type { DataSource } from 'typeorm';

/**
 * What a department has stored, as comparable text: its webhooks' rows (any change to one shows) and
 * how many events, deliveries and idempotency keys it has (rows the publish routes only ever add).
 * Equal before and after a request ⇔ the request wrote nothing for that department.
 */
export async function departmentRows(dataSource: DataSource, departmentId: string): Promise<Record<string, string | number>> {
  const [row] = await dataSource.query<Record<string, string | number>[]>(
    `SELECT coalesce((SELECT md5(string_agg(w::text, ',' ORDER BY w.id)) FROM webhooks w WHERE w.department_id = $1), '') AS webhooks,
            (SELECT count(*)::int FROM events WHERE department_id = $1) AS events,
            (SELECT count(*)::int FROM deliveries WHERE department_id = $1) AS deliveries,
            (SELECT count(*)::int FROM idempotency_keys WHERE department_id = $1) AS idempotency_keys`,
    [departmentId],
  );
  return row;
}
