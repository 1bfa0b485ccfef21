import { EntityManager, In } from 'typeorm';
import { DeliveryAttemptEntity } from '../entities/delivery-attempt.entity';
import { DeliveryEntity, DeliveryStatus } from '../entities/delivery.entity';
import { returningRows } from './raw-query';

export interface AttemptOutcome {
  deliveryId: string;
  attempt: number;
  requestedAt: Date;
  durationMs: number;
  statusCode: number | null;
  responseBody: string;
  responseBodyTruncated: boolean;
  error: string | null;
  errorMessage: string | null;
  /** The delivery's state after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  eventType?: string;
  since?: Date;
  until?: Date;
}

export interface DeliveryCursor {
  createdAt: Date;
  id: string;
}

export interface PendingJob {
  id: string;
  /** The attempt the next job makes. */
  nextAttempt: number;
  nextAttemptAt: Date | null;
}

export class DeliveryRepository {
  constructor(private readonly manager: EntityManager) {}

  private get table() {
    return this.manager.getRepository(DeliveryEntity);
  }

  /**
   * One pending delivery per (event, webhook), idempotently, for many events at once; returns the
   * first (or next) attempts of these events' pending deliveries, those created earlier included.
   */
  async createForEvents(
    fanOuts: { event: { id: string; departmentId: string; type: string }; webhookIds: string[] }[],
    newId: () => string,
  ): Promise<(PendingJob & { eventId: string })[]> {
    const rows = fanOuts.flatMap(({ event, webhookIds }) =>
      webhookIds.map((webhookId) => ({
        id: newId(),
        eventId: event.id,
        webhookId,
        departmentId: event.departmentId,
        eventType: event.type,
        status: 'pending' as const,
        attempts: 0,
        chainStart: 0,
        nextAttemptAt: () => 'now()',
      })),
    );
    if (rows.length === 0) return [];
    await this.table.createQueryBuilder().insert().values(rows).orIgnore().execute();
    // By event only (the unique index's prefix): a status predicate tempts the planner into the
    // partial pending index, which scans every pending delivery.
    const existing: { id: string; event_id: string; status: DeliveryStatus; attempts: number; next_attempt_at: Date | null }[] = await this.manager.query(
      `SELECT id, event_id, status, attempts, next_attempt_at FROM deliveries WHERE event_id = ANY($1)`,
      [[...new Set(rows.map((row) => row.eventId))]],
    );
    return existing
      .filter((row) => row.status === 'pending')
      .map((row) => ({ id: row.id, eventId: row.event_id, nextAttempt: row.attempts + 1, nextAttemptAt: row.next_attempt_at }));
  }

  findById(id: string): Promise<DeliveryEntity | null> {
    return this.table.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<DeliveryEntity[]> {
    return ids.length === 0 ? Promise.resolve([]) : this.table.findBy({ id: In([...new Set(ids)]) });
  }

  /**
   * Writes many attempts and their deliveries' new state (two statements; call it inside a
   * transaction). A delivery is only moved on when it is still pending at the attempt before: a stale
   * duplicate job or a cancellation in the meantime wins.
   */
  async recordOutcomes(outcomes: AttemptOutcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    await this.manager
      .createQueryBuilder()
      .insert()
      .into(DeliveryAttemptEntity)
      .values(
        outcomes.map((o) => ({
          deliveryId: o.deliveryId,
          attempt: o.attempt,
          requestedAt: o.requestedAt,
          durationMs: o.durationMs,
          statusCode: o.statusCode,
          responseBody: o.responseBody,
          responseBodyTruncated: o.responseBodyTruncated,
          error: o.error,
          errorMessage: o.errorMessage?.slice(0, 500) ?? null,
        })),
      )
      .orIgnore()
      .execute();
    await this.manager.query(
      `UPDATE deliveries d
          SET attempts = v.attempt, status = v.status, last_status_code = v.status_code,
              last_error = v.last_error, last_attempt_at = v.requested_at, next_attempt_at = v.next_attempt_at
         FROM unnest($1::varchar[], $2::int[], $3::varchar[], $4::int[], $5::varchar[], $6::timestamptz[], $7::timestamptz[])
              AS v(id, attempt, status, status_code, last_error, requested_at, next_attempt_at)
        WHERE d.id = v.id AND d.attempts = v.attempt - 1 AND d.status = 'pending'`,
      [
        outcomes.map((o) => o.deliveryId),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.statusCode),
        outcomes.map((o) => (o.error === null && o.statusCode !== null && (o.statusCode < 200 || o.statusCode > 299) ? `HTTP ${o.statusCode}` : o.errorMessage)?.slice(0, 500) ?? null),
        outcomes.map((o) => o.requestedAt),
        outcomes.map((o) => o.nextAttemptAt),
      ],
    );
  }

  /** Pending deliveries of a webhook become cancelled (deleted or deactivated). */
  async cancelPendingForWebhook(webhookId: string): Promise<number> {
    const result = await this.table.update({ webhookId, status: 'pending' }, { status: 'cancelled', nextAttemptAt: null });
    return result.affected ?? 0;
  }

  async cancel(id: string): Promise<void> {
    await this.table.update({ id, status: 'pending' }, { status: 'cancelled', nextAttemptAt: null });
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async list(webhookId: string, filter: DeliveryFilter, limit: number, after?: DeliveryCursor): Promise<DeliveryEntity[]> {
    const query = this.table.createQueryBuilder('d').where('d.webhook_id = :webhookId', { webhookId });
    if (filter.status) query.andWhere('d.status = :status', { status: filter.status });
    if (filter.eventType) query.andWhere('d.event_type = :eventType', { eventType: filter.eventType });
    if (filter.since) query.andWhere('d.created_at >= :since', { since: filter.since });
    if (filter.until) query.andWhere('d.created_at < :until', { until: filter.until });
    if (after) query.andWhere('(d.created_at, d.id) < (:afterAt, :afterId)', { afterAt: after.createdAt, afterId: after.id });
    return query.orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'DESC').limit(limit).getMany();
  }

  findInWebhook(webhookId: string, id: string): Promise<DeliveryEntity | null> {
    return this.table.findOneBy({ webhookId, id });
  }

  attemptsOf(deliveryId: string): Promise<DeliveryAttemptEntity[]> {
    return this.manager.getRepository(DeliveryAttemptEntity).find({ where: { deliveryId }, order: { attempt: 'ASC' } });
  }

  /**
   * Starts a new attempt chain (the retry schedule restarts) for the matching deliveries that are not
   * pending; returns the jobs to queue.
   */
  async restartChains(where: { webhookId: string; ids?: string[]; statuses?: DeliveryStatus[]; since?: Date; until?: Date }, limit = 1000): Promise<PendingJob[]> {
    const rows = await returningRows<{ id: string; attempts: number }>(
      this.manager,
      `UPDATE deliveries SET status = 'pending', chain_start = attempts, next_attempt_at = now()
        WHERE id IN (
          SELECT id FROM deliveries
           WHERE webhook_id = $1 AND status <> 'pending'
             AND ($2::varchar[] IS NULL OR id = ANY($2))
             AND ($3::varchar[] IS NULL OR status = ANY($3))
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)
           ORDER BY created_at LIMIT $6)
        RETURNING id, attempts`,
      [where.webhookId, where.ids ?? null, where.statuses ?? null, where.since ?? null, where.until ?? null, limit],
    );
    return rows.map((row) => ({ id: row.id, nextAttempt: row.attempts + 1, nextAttemptAt: new Date() }));
  }

  /** Pending deliveries whose next attempt was due before `cutoff`: candidates for the sweeper. */
  async findOverdue(cutoff: Date, limit: number): Promise<PendingJob[]> {
    const rows: { id: string; attempts: number; next_attempt_at: Date }[] = await this.manager.query(
      `SELECT id, attempts, next_attempt_at FROM deliveries WHERE status = 'pending' AND next_attempt_at < $1 ORDER BY next_attempt_at LIMIT $2`,
      [cutoff, limit],
    );
    return rows.map((row) => ({ id: row.id, nextAttempt: row.attempts + 1, nextAttemptAt: row.next_attempt_at }));
  }

  /** Deletes at most `batch` deliveries (and their attempts) created before `cutoff`. */
  async purgeBefore(cutoff: Date, batch: number): Promise<number> {
    return this.manager.transaction(async (tx) => {
      const rows = await returningRows<{ id: string }>(
        tx,
        `DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE created_at < $1 LIMIT $2) RETURNING id`,
        [cutoff, batch],
      );
      if (rows.length > 0) await tx.query(`DELETE FROM delivery_attempts WHERE delivery_id = ANY($1)`, [rows.map((r) => r.id)]);
      return rows.length;
    });
  }
}
