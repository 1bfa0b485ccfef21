import { EntityManager, IsNull, LessThan, In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
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
    const result = await this.table
      .createQueryBuilder()
      .insert()
      .values(events.map((e) => ({ ...e, fannedOutAt: null })) as QueryDeepPartialEntity<EventEntity>[])
      .orIgnore()
      .returning(['id'])
      .execute();
    return new Set((result.raw as { id: string }[]).map((row) => row.id));
  }

  findByIds(ids: string[]): Promise<EventEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.table.findBy({ id: In(ids) });
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
