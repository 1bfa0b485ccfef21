import { EntityManager } from 'typeorm';
import { EventEntity } from '../entities/event.entity';
import { deliveryIdStem, INSERT_DELIVERIES_SQL, PendingJob, subscribedTargetsSql } from './delivery.repository';
import { SWEEP_KEY, SweepCursor } from './sweep-cursor';

export interface NewEvent {
  id: string;
  departmentId: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: Date;
}

/** What insertWithDeliveries stored. */
export interface StoredEvents {
  /** Ids of the events this call stored. */
  inserted: Set<string>;
  /** Groups that stored nothing, each with its id that belongs to another department. */
  foreign: Map<number, string>;
  /** The deliveries stored with the inserted events: their first attempts are to be queued. */
  deliveries: (PendingJob & { eventId: string; createdAt: Date })[];
}

export class EventRepository {
  constructor(private readonly manager: EntityManager) {}

  private get table() {
    return this.manager.getRepository(EventEntity);
  }

  /**
   * Stores the events whose ids are new together with their deliveries (one pending delivery per active
   * webhook of the department subscribed to the type), in one statement: an acknowledged event is never
   * without its deliveries, and its row is written once (fanned_out_at set on insert). Events come in
   * groups (one publish call each, `group` numbering them): a group holding an id that already belongs to
   * another department stores nothing and is returned in `foreign` with that id; other groups are not
   * affected. Ids that already exist for the same department are left as they are. Ids must be unique
   * across the call. `dataJson`, when the caller has it, is the data as JSON text (not made again here).
   */
  async insertWithDeliveries(events: (NewEvent & { group: number; dataJson?: string })[]): Promise<StoredEvents> {
    const stored: StoredEvents = { inserted: new Set(), foreign: new Map(), deliveries: [] };
    if (events.length === 0) return stored;
    // One array parameter per column: a batch of 500 events is seven parameters, not 3,500.
    const rows: {
      kind: 'event' | 'foreign' | 'delivery';
      id: string;
      grp: number | null;
      event_id: string | null;
      webhook_id: string | null;
      department_id: string | null;
      created_at: Date | null;
    }[] = await this.manager.query(
      `WITH v AS (
           SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::jsonb[], $5::timestamptz[], $6::int[], $7::varchar[])
             AS v(id, department_id, type, data, occurred_at, grp, id_stem)
         ), foreign_ids AS (
           SELECT v.id, v.grp FROM events e JOIN v ON v.id = e.id AND e.department_id <> v.department_id
         ), inserted AS (
           INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at)
           SELECT id, department_id, type, data, occurred_at, now() FROM v WHERE grp NOT IN (SELECT grp FROM foreign_ids)
           ON CONFLICT (id) DO NOTHING
           RETURNING id, department_id, type, created_at
         ), targets AS (
           ${subscribedTargetsSql('inserted e JOIN v ON v.id = e.id', 'v.id_stem')}
         ), created AS (
           ${INSERT_DELIVERIES_SQL('targets')}
           RETURNING id, event_id, webhook_id, department_id, created_at
         )
         SELECT 'event' AS kind, id, NULL::int AS grp, NULL AS event_id, NULL AS webhook_id, NULL AS department_id, NULL::timestamptz AS created_at FROM inserted
         UNION ALL SELECT 'foreign', id, grp, NULL, NULL, NULL, NULL FROM foreign_ids
         UNION ALL SELECT 'delivery', id, NULL, event_id, webhook_id, department_id, created_at FROM created`,
      [
        events.map((e) => e.id),
        events.map((e) => e.departmentId),
        events.map((e) => e.type),
        events.map((e) => e.dataJson ?? JSON.stringify(e.data)),
        events.map((e) => e.occurredAt),
        events.map((e) => e.group),
        events.map(() => deliveryIdStem()),
      ],
    );
    for (const row of rows) {
      if (row.kind === 'event') stored.inserted.add(row.id);
      else if (row.kind === 'foreign') stored.foreign.set(row.grp!, row.id);
      else {
        stored.deliveries.push({
          id: row.id,
          eventId: row.event_id!,
          webhookId: row.webhook_id!,
          departmentId: row.department_id!,
          createdAt: row.created_at!,
          nextAttempt: 1,
          nextAttemptAt: null,
          chain: 0,
        });
      }
    }
    return stored;
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
