import type { DataSource } from 'typeorm';

/**
 * What each department has stored, as comparable values, in one statement: its webhooks' rows (any
 * change to one shows) and how many events, deliveries and idempotency keys it has (rows the publish
 * routes only ever add). Equal before and after a request ⇔ the request wrote nothing there.
 */
export async function departmentRows(dataSource: DataSource, departmentIds: string[]): Promise<Record<string, string | number>[]> {
  return dataSource.query<Record<string, string | number>[]>(
    `SELECT d.id AS department,
            coalesce((SELECT md5(string_agg(w::text, ',' ORDER BY w.id)) FROM webhooks w WHERE w.department_id = d.id), '') AS webhooks,
            (SELECT count(*)::int FROM events WHERE department_id = d.id) AS events,
            (SELECT count(*)::int FROM deliveries WHERE department_id = d.id) AS deliveries,
            (SELECT count(*)::int FROM idempotency_keys WHERE department_id = d.id) AS idempotency_keys
       FROM unnest($1::text[]) WITH ORDINALITY AS d(id, n)
      ORDER BY d.n`,
    [departmentIds],
  );
}
