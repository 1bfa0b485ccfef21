import { EntityManager, IsNull, LessThan } from 'typeorm';
import { EventEntity } from '../entities/event.entity';
import { returningRows } from './raw-query';

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

  /** Inserts what is new; ids that already exist are left as they are. Returns the ids inserted now. */
  async insertNew(events: NewEvent[]): Promise<Set<string>> {
    if (events.length === 0) return new Set();
    // One array parameter per column: a batch of 500 events is six parameters, not 3,000.
    const rows: { id: string }[] = await this.manager.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at)
       SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::jsonb[], $5::timestamptz[])
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        events.map((e) => e.id),
        events.map((e) => e.departmentId),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => e.occurredAt),
      ],
    );
    return new Set(rows.map((row) => row.id));
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

  findById(id: string): Promise<EventEntity | null> {
    return this.table.findOneBy({ id });
  }

  /** Events acknowledged before `cutoff` whose fan-out has not happened (lost queue jobs). */
  async findNotFannedOut(cutoff: Date, limit: number): Promise<string[]> {
    const rows = await this.table.find({ select: { id: true }, where: { fannedOutAt: IsNull(), createdAt: LessThan(cutoff) }, order: { createdAt: 'ASC' }, take: limit });
    return rows.map((row) => row.id);
  }

  /** Deletes at most `batch` events created before `cutoff`; returns how many went. */
  async purgeBefore(cutoff: Date, batch: number): Promise<number> {
    const rows = await returningRows<{ id: string }>(
      this.manager,
      `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 LIMIT $2) RETURNING id`,
      [cutoff, batch],
    );
    return rows.length;
  }
}
