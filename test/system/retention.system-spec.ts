import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@pollarix/database';
import { spawnWorker, Stack, startStack, waitUntil, workerHttpUrl } from '../support/system';

describe('retention purge', () => {
  let stack: Stack;
  let db: DataSource;

  beforeAll(async () => {
    stack = await startStack('retention');
    db = new DataSource(dataSourceOptions(stack.databaseUrl));
    await db.initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await stack?.close();
  });

  it('one worker purges events, deliveries and attempts older than EVENT_RETENTION, in batches, and keeps the rest', async () => {
    const OLD = 12_000;
    await db.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at, created_at, fanned_out_at)
      SELECT 'evt_old_' || g, 'd', 'SURVEY_COMPLETED', '{}', now() - interval '3 days', now() - interval '3 days', now() - interval '3 days'
        FROM generate_series(1, $1) g`,
      [OLD],
    );
    await db.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, created_at)
      SELECT 'msg_old_' || g, 'evt_old_' || g, 'wh_x', 'd', 'SURVEY_COMPLETED', 'succeeded', 1, now() - interval '3 days'
        FROM generate_series(1, $1) g`,
      [OLD],
    );
    await db.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, requested_at, duration_ms, status_code)
      SELECT 'msg_old_' || g, 1, now() - interval '3 days', 5, 200 FROM generate_series(1, $1) g`,
      [OLD],
    );
    await db.query(`INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at) VALUES ('evt_new', 'd', 'SURVEY_COMPLETED', '{}', now(), now())`);
    await db.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts) VALUES ('msg_new', 'evt_new', 'wh_x', 'd', 'SURVEY_COMPLETED', 'succeeded', 1)`,
    );
    await db.query(`INSERT INTO delivery_attempts (delivery_id, attempt, requested_at, duration_ms, status_code) VALUES ('msg_new', 1, now(), 5, 200)`);

    const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);
    const env = { DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl, EVENT_RETENTION: '1d', SWEEPER_INTERVAL: '200ms', WORKER_HTTP_PORT: '0' };
    const workers = [await spawnWorker(env), await spawnWorker(env)];
    try {
      await waitUntil('old rows purged', async () => (await count('events')) === 1 && (await count('deliveries')) === 1, 60_000, 100);
      expect(await count('delivery_attempts')).toBe(1);
      expect((await db.query(`SELECT id FROM deliveries`))[0].id).toBe('msg_new');
      // The "Purged N" line comes after the last (empty) batch: wait for it, then give every worker a few
      // more ticks (SWEEPER_INTERVAL 200ms) in which a second, repeated purge would show up.
      const purges = () => workers.flatMap((w) => [...w.output.join('').matchAll(/Purged (\d+)/g)].map((m) => Number(m[1])));
      await waitUntil('the purge logged', async () => purges().length > 0, 10_000, 50);
      // Sweeper ticks, counted by the workers themselves: each elected tick completes a pass of its walk.
      const urls = await Promise.all(workers.map((w) => workerHttpUrl(w)));
      const ticks = async () => {
        const texts = await Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()));
        return texts.reduce((sum, text) => sum + Number(/pollarix_sweeper_passes_total\{kind="delivery"\} (\d+)/.exec(text)?.[1] ?? 0), 0);
      };
      const before = await ticks();
      await waitUntil('five more sweeper ticks', async () => (await ticks()) >= before + 5, 30_000, 100);
      // One elected sweeper at a time: one purge of every old event and delivery, not one per worker.
      expect(purges()).toEqual([OLD * 2]);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  });
});
