import { newId } from '@pollarix/common';
import { EntityManager, In } from 'typeorm';
import { DeliveryAttemptEntity } from '../entities/delivery-attempt.entity';
import { DeliveryEntity, DeliveryStatus } from '../entities/delivery.entity';
import { SWEEP_KEY, SweepCursor } from './sweep-cursor';

/**
 * Delivery ids have the usual 22 characters after "msg_": 15 random ones (≈ 88 bits) drawn per event and
 * fan-out call, then 7 digits ranking the event's webhooks (up to 10^7, above MAX_WEBHOOKS_PER_DEPARTMENT's cap).
 */
const ID_LENGTH = 22;
const RANK_DIGITS = 7;

/** A fresh random stem for one event's delivery ids (deliveryIdSql appends the webhook's rank). */
export const deliveryIdStem = (): string => newId('msg', ID_LENGTH - RANK_DIGITS);

/**
 * Who gets a delivery of an event, as SQL: the active webhooks of its department subscribed to its type
 * and created before it, each with its delivery id (the event's stem, then the webhook's rank among the
 * event's targets: ids made in the statement, without a round trip for the count). `from` lists the
 * events, under the alias `e` (with id, department_id, type and created_at); `stem` is the id stem's expression.
 */
export function subscribedTargetsSql(from: string, stem: string): string {
  return `SELECT e.id AS event_id, e.department_id, e.type, w.id AS webhook_id,
                 ${stem} || lpad((row_number() OVER (PARTITION BY e.id ORDER BY w.id))::text, ${RANK_DIGITS}, '0') AS id
            FROM ${from}
            JOIN webhooks w ON w.department_id = e.department_id AND w.is_active AND e.type = ANY(w.events) AND w.created_at <= e.created_at`;
}

/** Inserts the pending deliveries of `targets` (rows of subscribedTargetsSql); a pair already delivered is skipped. */
export const INSERT_DELIVERIES_SQL = (targets: string): string =>
  `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, chain_start, next_attempt_at)
   SELECT id, event_id, webhook_id, department_id, type, 'pending', 0, 0, now() FROM ${targets}
   ON CONFLICT (event_id, webhook_id) DO NOTHING`;

/** One attempt as the delivery log records it. */
export interface AttemptOutcome {
  deliveryId: string;
  /** The delivery's webhook (a success ends its failing streak). */
  webhookId: string;
  attempt: number;
  requestedAt: Date;
  durationMs: number;
  statusCode: number | null;
  responseBody: string;
  responseBodyTruncated: boolean;
  /** The response's Content-Type, when there was a response that had one. */
  responseContentType: string | null;
  /** The delivery's attempt chain the attempt belongs to (an outcome of an earlier chain moves nothing). */
  chain: number;
  error: string | null;
  errorMessage: string | null;
  /** The delivery's state after this attempt. */
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/**
 * An event as an attempt reads it. `data` is null when it is larger than INLINE_EVENT_BYTES: the
 * attempt reads it (EventRepository.findData) once it holds room for it in the worker's byte budget.
 */
export interface AttemptEvent {
  id: string;
  type: string;
  departmentId: string;
  occurredAt: Date;
  data: Record<string, unknown> | null;
  /** Size of the data as JSON text (PostgreSQL's rendering, a little larger than JSON.stringify's). */
  dataBytes: number;
}

/** A delivery as an attempt reads it, with its (immutable) event. */
export interface AttemptSubject {
  id: string;
  webhookId: string;
  departmentId: string;
  status: DeliveryStatus;
  attempts: number;
  chainStart: number;
  chain: number;
  createdAt: Date;
  event: AttemptEvent;
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
  chain: number;
  webhookId: string;
  departmentId: string;
}

/** The columns a PendingJob is read from (RETURNING or SELECT lists). */
const PENDING_JOB_COLUMNS = 'id, attempts, next_attempt_at, chain, webhook_id, department_id';
type PendingJobRow = { id: string; attempts: number; next_attempt_at: Date | null; chain: number; webhook_id: string; department_id: string };
const toPendingJob = (row: PendingJobRow): PendingJob => ({
  id: row.id,
  nextAttempt: row.attempts + 1,
  nextAttemptAt: row.next_attempt_at,
  chain: row.chain,
  webhookId: row.webhook_id,
  departmentId: row.department_id,
});

/** Events up to this size (as JSON text) come with a batch's attempt load; larger ones are read one by one, within the worker's byte budget. */
export const INLINE_EVENT_BYTES = 64 * 1024;

/**
 * Which deliveries restartChains may take: $1 webhook, $2 ids, $3 statuses (the delivery lifecycle's
 * REDELIVERABLE_STATUSES or RECOVERABLE_STATUSES), $4 since, $5 until, and ($6, $7) the page's start,
 * after the previous page's last (created_at, id) (null: any).
 */
export type RestartFilter = {
  webhookId: string;
  ids?: string[];
  statuses: readonly DeliveryStatus[];
  since?: Date;
  until?: Date;
  after?: SweepCursor | null;
};
const RESTARTABLE = `webhook_id = $1 AND status = ANY($3)
             AND ($2::varchar[] IS NULL OR id = ANY($2))
             AND ($4::timestamptz IS NULL OR created_at >= $4)
             AND ($5::timestamptz IS NULL OR created_at < $5)
             AND ($6::timestamptz IS NULL OR (created_at, id) > ($6::timestamptz, $7::varchar))`;
const restartParams = (where: RestartFilter) => [
  where.webhookId,
  where.ids ?? null,
  where.statuses,
  where.since ?? null,
  where.until ?? null,
  where.after?.at ?? null,
  where.after?.id ?? null,
];

/** Deliveries of a webhook created in one UTC hour and now in one status (hourlyStats). */
export interface HourlyDeliveryCount {
  hour: Date;
  status: DeliveryStatus;
  count: number;
}

/** Attempts made in one UTC hour to a webhook, with the nearest-rank median and 95th percentile of their durations. */
export interface HourlyAttempts {
  hour: Date;
  attempts: number;
  p50Ms: number;
  p95Ms: number;
}

export class DeliveryRepository {
  constructor(private readonly manager: EntityManager) {}

  private get table() {
    return this.manager.getRepository(DeliveryEntity);
  }

  /**
   * Fans stored events out: one pending delivery per (event, active webhook of its department
   * subscribed to its type and created before it), idempotently, and marks the events fanned out.
   * Returns the next attempts of these events' pending deliveries, earlier ones included, so that a
   * repeated fan-out re-queues what a crash may have lost. One statement for any number of events.
   */
  async fanOut(eventIds: string[]): Promise<(PendingJob & { eventId: string })[]> {
    const ids = [...new Set(eventIds)];
    if (ids.length === 0) return [];
    const pending: (PendingJobRow & { event_id: string })[] = await this.manager.query(
      `WITH targets AS (
         ${subscribedTargetsSql('unnest($1::varchar[], $2::varchar[]) AS v(event_id, id_stem) JOIN events e ON e.id = v.event_id', 'v.id_stem')}
       ), created AS (
         ${INSERT_DELIVERIES_SQL('targets')}
         RETURNING ${PENDING_JOB_COLUMNS}, event_id
       ), marked AS (
         -- Not "AND fanned_out_at IS NULL": that would draw the update onto the sweeper's partial index
         -- (all events not yet fanned out) instead of the primary key. A repeat keeps the first time.
         UPDATE events SET fanned_out_at = COALESCE(fanned_out_at, now()) WHERE id = ANY($1)
       )
       SELECT ${PENDING_JOB_COLUMNS}, event_id FROM created
       UNION ALL
       -- Deliveries that existed before this statement (its snapshot does not see the ones it creates).
       SELECT ${PENDING_JOB_COLUMNS}, event_id FROM deliveries WHERE event_id = ANY($1) AND status = 'pending'`,
      [ids, ids.map(() => deliveryIdStem())],
    );
    return pending.map((row) => ({ ...toPendingJob(row), eventId: row.event_id }));
  }

  /**
   * What attempts need, in one query: their deliveries, each with its (immutable) event. Deliveries that
   * do not exist are absent. The webhook an attempt sends to comes from the worker's cache.
   */
  async findForAttempts(ids: string[]): Promise<AttemptSubject[]> {
    if (ids.length === 0) return [];
    const rows: {
      delivery_id: string;
      event_id: string;
      webhook_id: string;
      delivery_department_id: string;
      status: DeliveryStatus;
      attempts: number;
      chain_start: number;
      chain: number;
      delivery_created_at: Date;
      type: string;
      event_department_id: string;
      occurred_at: Date;
      data_bytes: number;
      data: Record<string, unknown> | null;
    }[] = await this.manager.query(
      // An event's data comes once per batch, however many of its deliveries are in it, and only when
      // small: what a batch holds in memory is bounded by bytes, not by how large its events are.
      `SELECT d.id AS delivery_id, d.event_id, d.webhook_id, d.department_id AS delivery_department_id, d.status, d.attempts,
              d.chain_start, d.chain, d.created_at AS delivery_created_at,
              e.type, e.department_id AS event_department_id, e.occurred_at, size.data_bytes,
              CASE WHEN row_number() OVER (PARTITION BY d.event_id) = 1 AND size.data_bytes <= $2 THEN e.data END AS data
         FROM deliveries d
         JOIN events e ON e.id = d.event_id
         CROSS JOIN LATERAL (SELECT octet_length(e.data::text) AS data_bytes) size
        WHERE d.id = ANY($1)`,
      [[...new Set(ids)], INLINE_EVENT_BYTES],
    );
    const data = new Map<string, Record<string, unknown>>();
    for (const row of rows) if (row.data !== null) data.set(row.event_id, row.data);
    return rows.map((row) => ({
      id: row.delivery_id,
      webhookId: row.webhook_id,
      departmentId: row.delivery_department_id,
      status: row.status,
      attempts: row.attempts,
      chainStart: row.chain_start,
      chain: row.chain,
      createdAt: row.delivery_created_at,
      event: {
        id: row.event_id,
        type: row.type,
        departmentId: row.event_department_id,
        occurredAt: row.occurred_at,
        data: data.get(row.event_id) ?? null,
        dataBytes: row.data_bytes,
      },
    }));
  }

  /**
   * Writes many attempts, their deliveries' new state, and the end of the failing streak of webhooks
   * that succeeded, in one statement (atomic on its own, one round trip). An attempt is logged, and its
   * delivery moved on, only when the delivery is still at the attempt before in the same chain: a stale
   * duplicate job or an earlier chain's late outcome changes nothing. A delivery cancelled while the
   * attempt was in flight counts and logs it, and stays cancelled. Returns the status after the write of
   * each delivery the outcomes moved (an outcome whose delivery is absent was stale: it changed nothing).
   */
  async recordOutcomes(outcomes: AttemptOutcome[], recordable: readonly DeliveryStatus[]): Promise<Map<string, DeliveryStatus>> {
    if (outcomes.length === 0) return new Map();
    const moved: { id: string; status: DeliveryStatus }[] = await this.manager.query(
      `WITH v AS (
         SELECT * FROM unnest($1::varchar[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::boolean[],
                              $8::varchar[], $9::varchar[], $10::varchar[], $11::timestamptz[], $12::varchar[], $13::varchar[], $14::varchar[],
                              $15::int[])
           AS v(delivery_id, attempt, requested_at, duration_ms, status_code, response_body, response_body_truncated,
                error, error_message, status, next_attempt_at, last_error, webhook_id, response_content_type, chain)
       ), moved AS (
         -- A pending delivery takes the attempt's outcome; one cancelled while the attempt was in flight
         -- counts it and stays cancelled (a recover then starts after it).
         UPDATE deliveries d
            SET attempts = v.attempt, status = CASE WHEN d.status = 'pending' THEN v.status ELSE d.status END,
                last_status_code = v.status_code, last_error = v.last_error, last_attempt_at = v.requested_at,
                -- Due while pending, never otherwise (the check constraint): one odd outcome cannot fail the batch.
                next_attempt_at = CASE WHEN d.status = 'pending' AND v.status = 'pending' THEN COALESCE(v.next_attempt_at, now()) END
           FROM v
          WHERE d.id = v.delivery_id AND d.attempts = v.attempt - 1 AND d.chain = v.chain AND d.status = ANY($16)
         RETURNING d.id, d.status
       ), logged AS (
         INSERT INTO delivery_attempts (delivery_id, attempt, requested_at, duration_ms, status_code, response_body,
                                        response_body_truncated, error, error_message, response_content_type)
         SELECT delivery_id, attempt, requested_at, duration_ms, status_code, response_body, response_body_truncated, error, error_message,
                response_content_type
           FROM v WHERE delivery_id IN (SELECT id FROM moved)
         ON CONFLICT (delivery_id, attempt) DO NOTHING
       ), streak_ended AS (
         UPDATE webhooks w SET failing_since = NULL, failure_streak = 0
          WHERE w.id IN (SELECT webhook_id FROM v WHERE status = 'succeeded' AND delivery_id IN (SELECT id FROM moved)) AND w.failure_streak > 0
       )
       SELECT id, status FROM moved`,
      [
        outcomes.map((o) => o.deliveryId),
        outcomes.map((o) => o.attempt),
        outcomes.map((o) => o.requestedAt),
        outcomes.map((o) => o.durationMs),
        outcomes.map((o) => o.statusCode),
        outcomes.map((o) => o.responseBody),
        outcomes.map((o) => o.responseBodyTruncated),
        outcomes.map((o) => o.error),
        outcomes.map((o) => o.errorMessage?.slice(0, 500) ?? null),
        outcomes.map((o) => o.status),
        outcomes.map((o) => o.nextAttemptAt),
        outcomes.map(
          (o) =>
            (o.error === null && o.statusCode !== null && (o.statusCode < 200 || o.statusCode > 299) ? `HTTP ${o.statusCode}` : o.errorMessage)?.slice(0, 500) ?? null,
        ),
        outcomes.map((o) => o.webhookId),
        outcomes.map((o) => o.responseContentType?.slice(0, 255) ?? null),
        outcomes.map((o) => o.chain),
        recordable,
      ],
    );
    return new Map(moved.map((row) => [row.id, row.status]));
  }

  /** A webhook's deliveries in one of `cancellable` become cancelled (it was deleted or deactivated). */
  async cancelForWebhook(webhookId: string, cancellable: readonly DeliveryStatus[]): Promise<number> {
    const result = await this.table.update({ webhookId, status: In([...cancellable]) }, { status: 'cancelled', nextAttemptAt: null });
    return result.affected ?? 0;
  }

  /** One delivery becomes cancelled if it is in one of `cancellable`. */
  async cancel(id: string, cancellable: readonly DeliveryStatus[]): Promise<void> {
    await this.table.update({ id, status: In([...cancellable]) }, { status: 'cancelled', nextAttemptAt: null });
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

  /**
   * A webhook's deliveries created in [since, until] per UTC hour and current status, and its attempts
   * made in [since, until] per UTC hour with their latency percentiles: only hours with rows. Index
   * ranges for this webhook and window: deliveries on IDX_deliveries_webhook_created, attempts through
   * their deliveries attempted since `since` (IDX_deliveries_webhook_attempted; a delivery's attempts
   * are made in order, so one made in the window means its last one was) and the attempts' primary key.
   */
  async hourlyStats(webhookId: string, since: Date, until: Date): Promise<{ deliveries: HourlyDeliveryCount[]; attempts: HourlyAttempts[] }> {
    const deliveries: HourlyDeliveryCount[] = await this.manager.query(
      `SELECT date_trunc('hour', created_at, 'UTC') AS hour, status, count(*)::int AS count
         FROM deliveries
        WHERE webhook_id = $1 AND created_at >= $2 AND created_at <= $3
        GROUP BY 1, 2`,
      [webhookId, since, until],
    );
    const attempts: HourlyAttempts[] = await this.manager.query(
      `SELECT date_trunc('hour', a.requested_at, 'UTC') AS hour, count(*)::int AS attempts,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY a.duration_ms) AS "p50Ms",
              percentile_disc(0.95) WITHIN GROUP (ORDER BY a.duration_ms) AS "p95Ms"
         FROM deliveries d
         JOIN delivery_attempts a ON a.delivery_id = d.id
        WHERE d.webhook_id = $1 AND d.last_attempt_at >= $2 AND a.requested_at >= $2 AND a.requested_at <= $3
        GROUP BY 1`,
      [webhookId, since, until],
    );
    return { deliveries, attempts };
  }

  findInWebhook(webhookId: string, id: string): Promise<DeliveryEntity | null> {
    return this.table.findOneBy({ webhookId, id });
  }

  attemptsOf(deliveryId: string): Promise<DeliveryAttemptEntity[]> {
    return this.manager.getRepository(DeliveryAttemptEntity).find({ where: { deliveryId }, order: { attempt: 'ASC' } });
  }

  /**
   * Starts a new attempt chain (the retry schedule restarts) for up to `limit` matching deliveries (in
   * `where.statuses`, which must not include pending), in (created_at, id) order; returns the jobs to queue and where the next page starts
   * (null after the last page). Paging by position, not by status, restarts each delivery once per
   * recover even when the worker cancels restarted ones meanwhile (a webhook disabled by a 410).
   */
  async restartChains(where: RestartFilter, limit: number): Promise<{ jobs: PendingJob[]; next: SweepCursor | null }> {
    const rows: (PendingJobRow & { page_size: number; last_key: string; last_id: string })[] = await this.manager.query(
      // A new chain number: its jobs' ids differ from any job the previous chain may have left queued.
      // The next page starts after this page's last row in PostgreSQL's own order (its collation, not JavaScript's).
      `WITH page AS (
         SELECT id, created_at FROM deliveries WHERE ${RESTARTABLE} ORDER BY created_at, id LIMIT $8
       ), last AS (
         SELECT ${SWEEP_KEY('created_at')} AS key, id FROM page ORDER BY created_at DESC, id DESC LIMIT 1
       ), restarted AS (
         UPDATE deliveries SET status = 'pending', chain_start = attempts, chain = chain + 1, next_attempt_at = now()
          WHERE id IN (SELECT id FROM page) AND status = ANY($3)
         RETURNING ${PENDING_JOB_COLUMNS}
       )
       SELECT restarted.*, (SELECT count(*) FROM page)::int AS page_size, last.key AS last_key, last.id AS last_id
         FROM restarted CROSS JOIN last`,
      [...restartParams(where), limit],
    );
    const full = rows.length > 0 && rows[0].page_size >= limit;
    return {
      jobs: rows.map((row) => ({ ...toPendingJob(row), nextAttemptAt: new Date() })),
      next: full ? { at: rows[0].last_key, id: rows[0].last_id } : null,
    };
  }

  /** How many deliveries restartChains would take for `where` (a progress bar's total). */
  async countRestartable(where: RestartFilter): Promise<number> {
    const [row]: { n: number }[] = await this.manager.query(`SELECT count(*)::int AS n FROM deliveries WHERE ${RESTARTABLE}`, restartParams(where));
    return row.n;
  }

  /**
   * A page of the sweeper's walk: pending deliveries due before `cutoff`, in (next_attempt_at, id) order,
   * after `after` (from the start when null). A range scan of IDX_deliveries_due (next_attempt_at; the
   * ties on one due time, e.g. one fan-out statement's now(), are put in id order by an incremental
   * sort). Each row carries its position as exact text: a Date would drop the microseconds.
   */
  async findOverduePage(cutoff: Date, after: SweepCursor | null, limit: number): Promise<(PendingJob & { cursor: SweepCursor })[]> {
    const rows: (PendingJobRow & { due_key: string })[] = await this.manager.query(
      `SELECT ${PENDING_JOB_COLUMNS}, ${SWEEP_KEY('next_attempt_at')} AS due_key
         FROM deliveries
        WHERE status = 'pending' AND next_attempt_at < $1
          ${after ? 'AND (next_attempt_at, id) > ($3::timestamptz, $4::varchar)' : ''}
        ORDER BY next_attempt_at, id
        LIMIT $2`,
      after ? [cutoff, limit, after.at, after.id] : [cutoff, limit],
    );
    return rows.map((row) => ({ ...toPendingJob(row), cursor: { at: row.due_key, id: row.id } }));
  }
}
