import { newId, SecretBox } from '@pollarix/common';
import { AttemptOutcome, dataSourceOptions, Repositories, StoredEvents, webhookSealContext } from '@pollarix/database';
import { randomBytes } from 'node:crypto';
import { ATTEMPT_RECORDABLE_STATUSES, CANCELLABLE_STATUSES } from '@pollarix/lifecycle';
import { Client } from 'pg';
import { DataSource, Logger } from 'typeorm';
import { createScratchDatabase } from './support/infra';

/**
 * The worker's per-delivery statements must cost what their own rows cost, not what the backlog does.
 * The trap this guards against: statistics taken while few deliveries were pending (any quiet spell)
 * make a partial index over pending rows look empty, and every statement naming that state then scans
 * the whole backlog through it. Each statement below is run under EXPLAIN ANALYZE with 5,000
 * deliveries pending and such statistics, and may read only a small multiple of the rows it is about.
 */

const BACKLOG = 5_000;
const BATCH = 10;
/** Rows a statement about BATCH deliveries may read in those two tables (index lookups, re-checks). */
const ROW_BUDGET = 20 * BATCH;

interface Captured {
  sql: string;
  params: unknown[];
}

/** Keeps the statements sent to the two tables, and nothing else. */
class CapturingLogger implements Logger {
  captured: Captured[] = [];
  logQuery(query: string, parameters?: unknown[]): void {
    if (/\b(deliveries|events)\b/.test(query)) this.captured.push({ sql: query, params: parameters ?? [] });
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan's scans of `tables` read (returned or filtered out), over all loops. */
function rowsRead(node: PlanNode, tables: readonly string[] = ['deliveries', 'events']): number {
  const own = tables.includes(node['Relation Name'] ?? '')
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child, tables), 0);
}

describe('delivery log statements with a backlog (scratch database)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let dataSource: DataSource;
  let client: Client;
  const logger = new CapturingLogger();
  const deliveryIds: string[] = [];
  const eventIds: string[] = [];
  const box = new SecretBox(randomBytes(32));

  beforeAll(async () => {
    scratch = await createScratchDatabase('plans');
    dataSource = new DataSource(dataSourceOptions(scratch.url, { logging: ['query'], logger }));
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    client = new Client({ connectionString: scratch.url });
    await client.connect();
    // The statistics below must stay as taken: no auto-analyze may refresh them mid-suite.
    for (const table of ['events', 'deliveries', 'webhooks']) await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    // The webhook the backlog goes to, subscribed, so a fan-out really inserts (and meets its conflicts).
    await client.query(
      `INSERT INTO webhooks (id, department_id, name, url, events, headers_sealed, secret_sealed, created_at)
       VALUES ('wh_plans', 'dept_plans', 'plans', 'https://example.com/hook', '{SURVEY_COMPLETED}', $1, $2, now() - interval '1 day')`,
      [
        box.sealJson({}, webhookSealContext('wh_plans', 'headers_sealed')),
        box.seal(`whsec_${randomBytes(24).toString('base64')}`, webhookSealContext('wh_plans', 'secret_sealed')),
      ],
    );

    for (let i = 0; i < BACKLOG; i++) {
      eventIds.push(newId('evt'));
      deliveryIds.push(newId('msg'));
    }
    await client.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at)
       SELECT unnest($1::varchar[]), 'dept_plans', 'SURVEY_COMPLETED', '{}'::jsonb, now(), now()`,
      [eventIds],
    );
    await client.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts)
       SELECT unnest($1::varchar[]), unnest($2::varchar[]), 'wh_plans', 'dept_plans', 'SURVEY_COMPLETED', 'succeeded', 1`,
      [deliveryIds, eventIds],
    );
    // Statistics from a quiet moment: nothing pending, every event fanned out. Then the backlog arrives.
    await client.query('ANALYZE events');
    await client.query('ANALYZE deliveries');
    await client.query(`UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now()`);
    await client.query(`UPDATE events SET fanned_out_at = NULL`);
  });

  afterAll(async () => {
    await client?.end();
    await dataSource?.destroy();
    await scratch?.drop();
  });

  /** Runs `work`, then each statement it sent to those tables again under EXPLAIN ANALYZE (rolled back). */
  async function rowsReadBy(work: (repos: Repositories) => Promise<unknown>, tables?: readonly string[]): Promise<{ sql: string; rows: number }[]> {
    logger.captured = [];
    await work(new Repositories(dataSource.manager, box));
    const statements = logger.captured.filter((c) => !/^\s*(START TRANSACTION|COMMIT|ROLLBACK)/i.test(c.sql));
    expect(statements.length).toBeGreaterThan(0);
    const measured = [];
    for (const { sql, params } of statements) {
      await client.query('BEGIN');
      try {
        const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        measured.push({ sql: sql.replace(/\s+/g, ' ').slice(0, 80), rows: rowsRead(rows[0]['QUERY PLAN'][0].Plan, tables) });
      } finally {
        await client.query('ROLLBACK');
      }
    }
    return measured;
  }

  const overBudget = (measured: { sql: string; rows: number }[]) => measured.filter((m) => m.rows > ROW_BUDGET);

  it('a repeated fan-out (deliveries exist) reads its own events and deliveries, not the backlog', async () => {
    const measured = await rowsReadBy(({ deliveries }) => deliveries.fanOut(eventIds.slice(0, BATCH)));
    expect(overBudget(measured)).toEqual([]);
  });

  it('a first fan-out inserts its deliveries reading only its own rows', async () => {
    const fresh = Array.from({ length: BATCH }, () => newId('evt'));
    await client.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at) SELECT unnest($1::varchar[]), 'dept_plans', 'SURVEY_COMPLETED', '{}'::jsonb, now()`,
      [fresh],
    );
    let created: unknown[] = [];
    const measured = await rowsReadBy(async ({ deliveries }) => (created = await deliveries.fanOut(fresh)));
    expect(created).toHaveLength(BATCH);
    expect(overBudget(measured)).toEqual([]);
  });

  it('publishing a batch of events with their deliveries reads the rows it is about', async () => {
    const events = Array.from({ length: BATCH }, (_, i) => ({
      id: newId('evt'),
      departmentId: 'dept_plans',
      type: 'SURVEY_COMPLETED',
      data: {},
      occurredAt: new Date(),
      group: i % 3,
    }));
    let stored: StoredEvents | undefined;
    const measured = await rowsReadBy(async ({ events: repository }) => (stored = await repository.insertWithDeliveries(events)));
    expect(stored?.inserted.size).toBe(BATCH);
    expect(stored?.deliveries).toHaveLength(BATCH);
    expect(overBudget(measured)).toEqual([]);
  });

  it('loading deliveries for their attempts reads their rows only', async () => {
    const measured = await rowsReadBy(({ deliveries }) => deliveries.findForAttempts(deliveryIds.slice(BATCH, 2 * BATCH)));
    expect(overBudget(measured)).toEqual([]);
  });

  it('a batch of attempt outcomes updates its deliveries by id, not through the backlog', async () => {
    const outcomes: AttemptOutcome[] = deliveryIds.slice(2 * BATCH, 3 * BATCH).map((deliveryId) => ({
      deliveryId,
      webhookId: 'wh_plans',
      attempt: 1,
      requestedAt: new Date(),
      durationMs: 5,
      statusCode: 204,
      responseBody: '',
      responseBodyTruncated: false,
      responseContentType: null,
      chain: 0,
      error: null,
      errorMessage: null,
      status: 'succeeded',
      nextAttemptAt: null,
    }));
    const measured = await rowsReadBy(({ deliveries }) => deliveries.recordOutcomes(outcomes, ATTEMPT_RECORDABLE_STATUSES));
    expect(overBudget(measured)).toEqual([]);
  });

  it('cancelling one delivery reads that delivery only', async () => {
    const measured = await rowsReadBy(({ deliveries }) => deliveries.cancel(deliveryIds[3 * BATCH], CANCELLABLE_STATUSES));
    expect(overBudget(measured)).toEqual([]);
  });

  it("a webhook's hourly stats read the window's deliveries and attempts, not the webhook's history", async () => {
    // A long history (created and attempted 20 days ago), then BATCH deliveries of the last hour, and
    // one old delivery retried within the window: the one the attempts' index has to find.
    const history = 2_000;
    const ids = Array.from({ length: history + BATCH + 1 }, () => newId('msg'));
    const events = ids.map(() => newId('evt'));
    await client.query(
      `INSERT INTO webhooks (id, department_id, name, url, events, headers_sealed, secret_sealed, created_at)
       SELECT 'wh_stats', department_id, 'stats', url, events, headers_sealed, secret_sealed, created_at FROM webhooks WHERE id = 'wh_plans'`,
    );
    await client.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at) SELECT unnest($1::varchar[]), 'dept_plans', 'SURVEY_COMPLETED', '{}'::jsonb, now(), now()`,
      [events],
    );
    await client.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, created_at, last_attempt_at)
       SELECT v.id, v.event_id, 'wh_stats', 'dept_plans', 'SURVEY_COMPLETED', 'succeeded', 1, t.created_at,
              CASE WHEN v.n > $3 + $4 THEN now() - interval '30 minutes' ELSE t.created_at END
         FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS v(id, event_id, n)
        CROSS JOIN LATERAL (
          SELECT CASE WHEN v.n <= $3 THEN now() - interval '20 days' WHEN v.n <= $3 + $4 THEN now() - interval '1 hour' ELSE now() - interval '10 days' END
        ) AS t(created_at)`,
      [ids, events, history, BATCH],
    );
    await client.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, requested_at, duration_ms) SELECT id, 1, last_attempt_at, 5 FROM deliveries WHERE webhook_id = 'wh_stats'`,
    );
    let stats: Awaited<ReturnType<Repositories['deliveries']['hourlyStats']>> | undefined;
    const measured = await rowsReadBy(
      async ({ deliveries }) => (stats = await deliveries.hourlyStats('wh_stats', new Date(Date.now() - 24 * 3_600_000), new Date())),
      ['deliveries', 'events', 'delivery_attempts'],
    );
    expect(stats?.deliveries.reduce((n, row) => n + row.count, 0)).toBe(BATCH);
    expect(stats?.attempts.reduce((n, row) => n + row.attempts, 0)).toBe(BATCH + 1);
    expect(measured).toHaveLength(2);
    expect(overBudget(measured)).toEqual([]);
  });

  it('only pending deliveries have a due time (check constraint)', async () => {
    await expect(client.query(`UPDATE deliveries SET status = 'succeeded' WHERE id = $1`, [deliveryIds[BACKLOG - 1]])).rejects.toThrow(
      /CHK_deliveries_due_iff_pending/,
    );
    await expect(client.query(`UPDATE deliveries SET next_attempt_at = NULL WHERE id = $1`, [deliveryIds[BACKLOG - 1]])).rejects.toThrow(
      /CHK_deliveries_due_iff_pending/,
    );
  });
});
