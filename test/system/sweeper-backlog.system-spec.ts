import { newId } from '@pollarix/common';
import { cpus, loadavg } from 'node:os';
import { treeCpuSeconds } from '../../bench/support/proc-cpu';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { Receiver, startReceiver } from '../support/receiver';
import { fastRecoveryEnv, spawnWorker, Stack, startStack, waitUntil, workerHttpUrl, WorkerProcess } from '../support/system';

/**
 * Redis flushed under a backlog of pending deliveries: the sweeper's cursor walks them all, page by
 * page, and re-queues every one; all are delivered. Two departments on one worker: the second's all succeed.
 *
 * The backlog is made as a stranded one is in production: events stored with their deliveries by the
 * publisher's own statement (pending deliveries due now) and no job queued, as after a crash between
 * commit and queue; then Redis is killed and its data deleted (this also loses the first attempts of
 * PUBLISHED events published through the API). LEGACY events stored by an older publisher, whose fan-out
 * jobs the wipe lost (no deliveries yet), are what the sweeper's event walk must find. Then one worker starts.
 *
 * SWEEPER_BACKLOG_DELIVERIES (10000) sets the backlog's size; with 100000 this is the measurement the
 * README quotes (time from the worker's start until its sweeper has re-queued every stranded delivery).
 */
const DELIVERIES = Number(process.env.SWEEPER_BACKLOG_DELIVERIES ?? 10_000);
/** Department A has 3 webhooks, B has 2: DELIVERIES / 5 events each. */
const EVENTS_PER_DEPARTMENT = DELIVERIES / 5;
const PUBLISHED = 200;
const LEGACY = 100;
/**
 * Everything delivered within 60 s plus 30 ms per delivery (6 min for 10,000). What this test guards is
 * completeness (every stranded delivery found and sent), not speed: unloaded, the sweeper takes a few
 * seconds and the whole run about 12 s here; with other test runs on the same 2 cores (load average
 * 14-18) one run needed over 3 minutes. 33 deliveries/s is far below any healthy run.
 */
const DELIVERED_WITHIN_MS = 60_000 + DELIVERIES * 30;
jest.setTimeout(DELIVERED_WITHIN_MS + 120_000);
const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

describe('the sweeper reaches every stuck item', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let api: TestApi;
  let worker: WorkerProcess | undefined;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    stack = await startStack('sweeper_backlog');
    // A short grace: the stranded deliveries are overdue by the time the worker is ready.
    env = { ...fastRecoveryEnv(stack), WORKER_HTTP_PORT: '0', WORKER_CONCURRENCY: '50', SWEEPER_INTERVAL: '1s', SWEEPER_GRACE: '1s' };
    api = await startApi(env);
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await api?.close();
    await stack?.close();
  });

  async function department(webhooks: number): Promise<{ dept: string; receivers: Receiver[] }> {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    const mine: Receiver[] = [];
    for (let i = 0; i < webhooks; i++) {
      const receiver = await startReceiver();
      mine.push(receiver);
      receivers.push(receiver);
      const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: `r${i}`, url: receiver.url, events: ['SURVEY_COMPLETED'] } });
      expect(res.status).toBe(201);
    }
    return { dept, receivers: mine };
  }

  /** Events stored with their deliveries by the repository (pending, due now), no job queued. */
  async function strand(dept: string, events: number): Promise<void> {
    for (let done = 0; done < events; done += 1_000) {
      const batch = Array.from({ length: Math.min(1_000, events - done) }, (_, i) => ({
        id: newId('evt'),
        departmentId: dept,
        type: 'SURVEY_COMPLETED',
        data: { ...data, n: done + i },
        occurredAt: new Date(),
        group: 0,
      }));
      const { inserted } = await api.db.repos.events.insertWithDeliveries(batch);
      expect(inserted.size).toBe(batch.length);
    }
  }

  const count = async (sql: string, params: unknown[]): Promise<number> => Number((await api.db.dataSource.query<{ n: string }[]>(sql, params))[0].n);
  const metric = (text: string, name: string, kind: string): number => Number(new RegExp(`^${name}\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

  it(`Redis flushed under ${DELIVERIES} pending deliveries: all are re-queued and delivered, progress in the log and metrics`, async () => {
    const a = await department(3);
    const b = await department(2);
    await strand(a.dept, EVENTS_PER_DEPARTMENT);
    await strand(b.dept, EVENTS_PER_DEPARTMENT);
    expect(await count(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`, [])).toBe(DELIVERIES);
    // The sweeper's page (DeliveryRepository.findOverduePage, from a cursor) is a range scan of IDX_deliveries_due.
    await api.db.dataSource.query('ANALYZE deliveries');
    const plan: { 'QUERY PLAN': string }[] = await api.db.dataSource.query(
      `EXPLAIN SELECT id, attempts, next_attempt_at, chain, webhook_id, department_id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at < now() AND (next_attempt_at, id) > ('-infinity'::timestamptz, 'msg_') ORDER BY next_attempt_at, id LIMIT 1000`,
    );
    const planText = plan.map((r) => r['QUERY PLAN']).join('\n');
    process.stderr.write(`[sweeper-backlog] page plan:\n${planText}\n`);
    expect(planText).toMatch(/Index Scan using "?IDX_deliveries_due"?/);
    expect(planText).not.toMatch(/Seq Scan/);
    // Events an older publisher stored without deliveries, their fan-out jobs about to be lost.
    await api.db.dataSource.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at) SELECT id, $2, 'SURVEY_COMPLETED', $3::jsonb, now() FROM unnest($1::varchar[]) AS id`,
      [Array.from({ length: LEGACY }, () => newId('evt')), b.dept, JSON.stringify(data)],
    );
    // Published through the API (deliveries stored, first attempts queued): no worker runs yet.
    const publisher = await api.token(['*'], ['events:publish']);
    const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
      token: publisher,
      body: { events: Array.from({ length: PUBLISHED }, (_, i) => ({ type: 'SURVEY_COMPLETED', departmentId: b.dept, data: { ...data, n: -i } })) },
    });
    expect(res.status).toBe(202);
    const total = DELIVERIES + (PUBLISHED + LEGACY) * 2;
    // And the event walk's page (EventRepository.findNotFannedOutPage) a range scan of IDX_events_pending_fan_out.
    await api.db.dataSource.query('ANALYZE events');
    const eventPlan = (
      await api.db.dataSource.query<{ 'QUERY PLAN': string }[]>(
        `EXPLAIN SELECT id FROM events WHERE fanned_out_at IS NULL AND created_at < now() AND (created_at, id) > ('-infinity'::timestamptz, 'evt_')
        ORDER BY created_at, id LIMIT 1000`,
      )
    )
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    expect(eventPlan).toMatch(/Index Scan using "?IDX_events_pending_fan_out"?/);

    await stack.restartRedis({ hard: true, wipe: true });
    const started = Date.now();
    const load = loadavg();
    const ownCpu = process.cpuUsage();
    const redisCpu = treeCpuSeconds(stack.redis.pid);
    worker = await spawnWorker(env);
    const metricsUrl = `${await workerHttpUrl(worker)}/metrics`;
    let requeuedAt: number | undefined;
    let lastMetrics = '';
    let cpuAtRequeued = '';
    const succeeded = () => count(`SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'`, []);
    await waitUntil(
      `all ${total} deliveries succeeded`,
      async () => {
        lastMetrics = await fetch(metricsUrl).then(
          (r) => r.text(),
          () => lastMetrics,
        );
        if (requeuedAt === undefined && metric(lastMetrics, 'pollarix_sweeper_requeued_total', 'delivery') >= DELIVERIES) {
          requeuedAt = Date.now();
          const own = process.cpuUsage(ownCpu);
          const redisNow = treeCpuSeconds(stack.redis.pid);
          cpuAtRequeued =
            `CPU until then: worker ${treeCpuSeconds(worker!.pid)?.toFixed(1)} s (start-up included), Redis ${redisNow !== null && redisCpu !== null ? (redisNow - redisCpu).toFixed(1) : 'n/a'} s, ` +
            `this test process (API, receivers) ${((own.user + own.system) / 1e6).toFixed(1)} s`;
        }
        return (await succeeded()) === total;
      },
      DELIVERED_WITHIN_MS,
      500,
    );
    const deliveredAt = Date.now();
    lastMetrics = await fetch(metricsUrl).then((r) => r.text());
    requeuedAt ??= deliveredAt;
    process.stderr.write(
      `[sweeper-backlog] ${DELIVERIES} stranded deliveries: re-queued ${((requeuedAt - started) / 1000).toFixed(1)} s after the worker was spawned ` +
        `(${Math.round(DELIVERIES / ((requeuedAt - started) / 1000))}/s, 0.5 s polling), all ${total} succeeded after ${((deliveredAt - started) / 1000).toFixed(1)} s; ` +
        `load average ${load.map((x) => x.toFixed(2)).join(' ')} at the start, ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')} at the end, ${cpus().length} cores; ${cpuAtRequeued}\n`,
    );
    const sweeperLines = worker.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('SweeperService'));
    process.stderr.write(`[sweeper-backlog] the sweeper's lines:\n${sweeperLines.join('\n')}\n`);

    // PostgreSQL: every delivery succeeded, both departments (the second's as much as the first's).
    const byStatus: { department_id: string; status: string; n: string }[] = await api.db.dataSource.query(
      `SELECT department_id, status, count(*) AS n FROM deliveries GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(byStatus.map((r) => [r.department_id, r.status, Number(r.n)]).sort()).toEqual(
      [
        [a.dept, 'succeeded', EVENTS_PER_DEPARTMENT * 3],
        [b.dept, 'succeeded', (EVENTS_PER_DEPARTMENT + PUBLISHED + LEGACY) * 2],
      ].sort(),
    );

    // The receivers: every delivery at least once (webhook-id is the delivery's id).
    const received = new Map<string, number>();
    for (const r of receivers) for (const q of r.requests) received.set(String(q.headers['webhook-id']), (received.get(String(q.headers['webhook-id'])) ?? 0) + 1);
    const ids: string[] = (await api.db.dataSource.query(`SELECT id FROM deliveries`)).map((r: { id: string }) => r.id);
    expect(ids.filter((id) => !received.has(id))).toEqual([]);
    // Duplicates: at-least-once allows a repeat only after an attempt the worker saw fail although the
    // receiver got it (e.g. a timeout on this loaded machine): such a delivery has more than one attempt.
    // A job the sweeper adds again for an attempt already made is stale and sends nothing.
    const repeated = [...received].filter(([, n]) => n > 1).map(([id]) => id);
    const retried: string[] = (await api.db.dataSource.query(`SELECT id FROM deliveries WHERE attempts > 1`)).map((r: { id: string }) => r.id);
    process.stderr.write(`[sweeper-backlog] ${repeated.length} deliveries received more than once, ${retried.length} with more than one attempt\n`);
    expect(repeated.filter((id) => !retried.includes(id))).toEqual([]);

    // Progress: the counters and the log lines of the sweeper.
    expect(metric(lastMetrics, 'pollarix_sweeper_scanned_total', 'delivery')).toBeGreaterThanOrEqual(DELIVERIES);
    expect(metric(lastMetrics, 'pollarix_sweeper_requeued_total', 'delivery')).toBeGreaterThanOrEqual(DELIVERIES);
    expect(metric(lastMetrics, 'pollarix_sweeper_requeued_total', 'event')).toBeGreaterThanOrEqual(LEGACY);
    expect(metric(lastMetrics, 'pollarix_sweeper_passes_total', 'delivery')).toBeGreaterThanOrEqual(1);
    const lines = sweeperLines.filter((l) => l.includes('Re-queued'));
    const requeuedInLog = lines.reduce((n, l) => n + Number(/and (\d+) delivery attempt\(s\)/.exec(l)?.[1] ?? 0), 0);
    expect(requeuedInLog).toBeGreaterThanOrEqual(DELIVERIES);
    // A backlog larger than a page is walked across pages: some tick stopped mid-walk with its cursor at a due time.
    expect(lines.some((l) => /\d{4,} delivery\(ies\)/.test(l))).toBe(true);
    expect(lines.some((l) => /delivery\(ies\) \(cursor at due time /.test(l))).toBe(true);
  });
});
