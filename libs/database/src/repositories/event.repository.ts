import { EntityManager } from 'typeorm';
import { EventEntity } from '../entities/event.entity';
import { SWEEP_KEY, SweepCursor } from './sweep-cursor';

export interface NewEvent {
  id: string;
  departmentId: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

export class EventRepository {
  constructor(private readonly manager: EntityManager) {}

  private get table() {
    return this.manager.getRepository(EventEntity);
  }

  /**
   * Inserts the events whose ids are new, in one statement — unless one of the ids already belongs to
   * another department, in which case nothing is inserted and those ids are returned as `foreign`.
   * Ids that already exist for the same department are left as they are (neither list has them).
   */
  async insertNew(events: NewEvent[]): Promise<{ inserted: Set<string>; foreign: string[] }> {
    if (events.length === 0) return { inserted: new Set(), foreign: [] };
    // One array parameter per column: a batch of 500 events is five parameters, not 2,500.
    const rows: { id: string; inserted: boolean }[] = await this.manager.query(
      `WITH v AS (
         SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::jsonb[], $5::timestamptz[])
           AS v(id, department_id, type, data, occurred_at)
       ), foreign_ids AS (
         SELECT e.id FROM events e JOIN v ON v.id = e.id AND e.department_id <> v.department_id
       ), inserted AS (
         INSERT INTO events (id, department_id, type, data, occurred_at)
         SELECT id, department_id, type, data, occurred_at FROM v WHERE NOT EXISTS (SELECT 1 FROM foreign_ids)
         ON CONFLICT (id) DO NOTHING
         RETURNING id
       )
       SELECT id, true AS inserted FROM inserted UNION ALL SELECT id, false AS inserted FROM foreign_ids`,
      [
        events.map((e) => e.id),
        events.map((e) => e.departmentId),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => e.occurredAt),
      ],
    );
    return { inserted: new Set(rows.filter((r) => r.inserted).map((r) => r.id)), foreign: rows.filter((r) => !r.inserted).map((r) => r.id) };
  }

  async findByIds(ids: string[]): Promise<EventEntity[]> {
    if (ids.length === 0) return [];
    const rows: { id: string; department_id: string; type: string; data: Record<string, unknown>; occurred_at: Date; created_at: Date; fanned_out_at: Date | null }[] =
      await this.manager.query(`SELECT id, department_id, type, data, occurred_at, created_at, fanned_out_at FROM events WHERE id = ANY($1)`, [ids]);
    return rows.map((row) =>
      Object.assign(new EventEntity(), {
        id: row.id,
        departmentId: row.department_id,
        type: row.type,
        data: row.data,
        occurredAt: row.occurred_at,
        createdAt: row.created_at,
        fannedOutAt: row.fanned_out_at,
      }),
    );
  }

  /** An event's data alone (an attempt reads a large event's this way, once it has room for it); null when the event is gone. */
  async findData(id: string): Promise<Record<string, unknown> | null> {
    const rows: { data: Record<string, unknown> }[] = await this.manager.query(`SELECT data FROM events WHERE id = $1`, [id]);
    return rows[0]?.data ?? null;
  }

  findById(id: string): Promise<EventEntity | null> {
    return this.table.findOneBy({ id });
  }

  /**
   * A page of the sweeper's walk over events acknowledged before `cutoff` whose fan-out has not happened
   * (lost queue jobs), in (created_at, id) order after `after` (from the start when null): a range scan of
   * IDX_events_pending_fan_out. Each id comes with its position as exact text.
   */
  async findNotFannedOutPage(cutoff: Date, after: SweepCursor | null, limit: number): Promise<{ id: string; cursor: SweepCursor }[]> {
    const rows: { id: string; created_key: string }[] = await this.manager.query(
      `SELECT id, ${SWEEP_KEY('created_at')} AS created_key
         FROM events
        WHERE fanned_out_at IS NULL AND created_at < $1
          ${after ? 'AND (created_at, id) > ($3::timestamptz, $4::varchar)' : ''}
        ORDER BY created_at, id
        LIMIT $2`,
      after ? [cutoff, limit, after.at, after.id] : [cutoff, limit],
    );
    return rows.map((row) => ({ id: row.id, cursor: { at: row.created_key, id: row.id } }));
  }

  /**
   * Deletes at most `batch` events created before `cutoff` with their deliveries and the deliveries'
   * attempts, in one statement; returns how many of each went.
   */
  async purgeBefore(cutoff: Date, batch: number): Promise<{ events: number; deliveries: number; attempts: number }> {
    const [row]: { events: number; deliveries: number; attempts: number }[] = await this.manager.query(
      `WITH old AS MATERIALIZED (SELECT id FROM events WHERE created_at < $1 LIMIT $2),
            gone_deliveries AS (DELETE FROM deliveries WHERE event_id IN (SELECT id FROM old) RETURNING id),
            gone_attempts AS (DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM gone_deliveries) RETURNING 1),
            gone_events AS (DELETE FROM events WHERE id IN (SELECT id FROM old) RETURNING 1)
       SELECT (SELECT count(*) FROM gone_events)::int AS events,
              (SELECT count(*) FROM gone_deliveries)::int AS deliveries,
              (SELECT count(*) FROM gone_attempts)::int AS attempts`,
      [cutoff, batch],
    );
    return row;
  }
}
