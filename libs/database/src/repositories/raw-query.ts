import type { EntityManager } from 'typeorm';

/**
 * The rows of a raw statement with RETURNING. TypeORM's postgres driver answers UPDATE and DELETE
 * with `[rows, affectedCount]` but SELECT and INSERT with the rows alone; this evens that out.
 */
export async function returningRows<T>(manager: EntityManager, sql: string, parameters: unknown[]): Promise<T[]> {
  const raw: unknown = await manager.query(sql, parameters);
  if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') return raw[0] as T[];
  return raw as T[];
}
