import { cli, requireBuiltCli } from './support/cli';
import { newId } from '@pollarix/common';
import { loadConfig } from '@pollarix/config';
import { Database, dataSourceOptions } from '@pollarix/database';
import { freePort } from '@pollarix/devinfra';
import { deliverJobId, fanOutJobId, QUEUE_PREFIX, QueueName } from '@pollarix/queue';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { uniqueName } from './support/infra';

const surveyCompleted = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

describe('CLI: event publish and webhook recover (built: dist/apps/cli/main.js)', () => {
  let dataSource: DataSource;
  let db: Database;
  let events: Queue;
  let deliveries: Queue;

  beforeAll(async () => {
    requireBuiltCli();
    const config = loadConfig({ requireConnections: true });
    dataSource = new DataSource(dataSourceOptions(config.databaseUrl!, { logging: false }));
    await dataSource.initialize();
    db = new Database(dataSource, config);
    const connection = { url: config.redisUrl! };
    events = new Queue(QueueName.Events, { connection, prefix: QUEUE_PREFIX });
    deliveries = new Queue(QueueName.Deliveries, { connection, prefix: QUEUE_PREFIX });
  });

  afterAll(async () => {
    await events?.close();
    await deliveries?.close();
    if (dataSource?.isInitialized) await dataSource.destroy();
  });

  const eventRows = (where: string, value: string) =>
    dataSource.query<{ id: string; department_id: string; type: string; data: Record<string, unknown>; occurred_at: Date }[]>(
      `SELECT id, department_id, type, data, occurred_at FROM events WHERE ${where} = $1`,
      [value],
    );

  /** An active SURVEY_COMPLETED webhook in the department. */
  function webhookIn(department: string) {
    const fields = { name: 'CRM', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'], headers: {}, isActive: true };
    return db.repos.webhooks.insert(newId('wh'), department, fields, `whsec_${randomBytes(24).toString('base64')}`);
  }

  describe('event publish', () => {
    /** `event publish` of a SURVEY_COMPLETED event with `data`, and any further options. */
    const publish = (department: string, data: object, ...options: string[]) =>
      cli(['event', 'publish', '--department', department, '--type', 'SURVEY_COMPLETED', '--data', JSON.stringify(data), ...options]);

    /** The event's deliveries' ids (one per subscribed webhook, stored with it). */
    const deliveriesOf = async (eventId: string) =>
      (await dataSource.query<{ id: string }[]>(`SELECT id FROM deliveries WHERE event_id = $1`, [eventId])).map((row) => row.id);

    it("stores the event with its delivery, queues the delivery's first attempt and prints the event as JSON", async () => {
      const department = uniqueName('dept_cli_evt');
      await webhookIn(department);
      const id = uniqueName('evt_cli');
      const result = await publish(department, surveyCompleted, '--id', id, '--timestamp', '2026-11-26T10:00:00Z');
      expect(result).toMatchObject({ code: 0 });
      expect(JSON.parse(result.stdout)).toEqual({
        id,
        type: 'SURVEY_COMPLETED',
        timestamp: '2026-11-26T10:00:00.000Z',
        departmentId: department,
        data: surveyCompleted,
      });
      expect(await eventRows('id', id)).toEqual([
        { id, department_id: department, type: 'SURVEY_COMPLETED', data: surveyCompleted, occurred_at: new Date('2026-11-26T10:00:00Z') },
      ]);
      const [delivery, ...more] = await deliveriesOf(id);
      expect(more).toEqual([]);
      expect(await deliveries.getJobState(deliverJobId(delivery, 1))).not.toBe('unknown');
      expect(await events.getJobState(fanOutJobId([id]))).toBe('unknown');
    });

    it('answers a repeated id with the first event and queues nothing more', async () => {
      const department = uniqueName('dept_cli_evt');
      await webhookIn(department);
      const id = uniqueName('evt_cli');
      const first = await publish(department, surveyCompleted, '--id', id);
      expect(first.code).toBe(0);
      // With the first attempt's job gone, any job the repeat adds would show.
      const [delivery] = await deliveriesOf(id);
      await deliveries.remove(deliverJobId(delivery, 1));

      const again = await publish(department, { ...surveyCompleted, surveyId: 'srv_other' }, '--id', id);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toEqual(JSON.parse(first.stdout));
      const rows = await eventRows('department_id', department);
      expect(rows).toHaveLength(1);
      expect(rows[0].data).toEqual(surveyCompleted);
      expect(await deliveriesOf(id)).toEqual([delivery]);
      expect(await deliveries.getJobState(deliverJobId(delivery, 1))).toBe('unknown');
    });

    it('refuses an unknown type, naming the problem, and stores nothing', async () => {
      const department = uniqueName('dept_cli_evt');
      const result = await cli(['event', 'publish', '--department', department, '--type', 'SURVEY_EXPLODED', '--data', '{}', '--id', uniqueName('evt_cli')]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: event not published:\n {2}type: type must be one of SURVEY_COMPLETED, /);
      expect(await eventRows('department_id', department)).toEqual([]);
    });

    it('lists every schema problem of the data and stores nothing', async () => {
      const department = uniqueName('dept_cli_evt');
      const result = await cli([
        'event',
        'publish',
        '--department',
        department,
        '--type',
        'SURVEY_COMPLETED',
        '--data',
        JSON.stringify({ responseId: 'rsp_1', completedAt: 'yesterday' }),
      ]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain("  data.surveyId: data must have required property 'surveyId'");
      expect(result.stderr).toMatch(/ {2}data\.completedAt: data\.completedAt must match format "date-time"/);
      expect(await eventRows('department_id', department)).toEqual([]);
    });

    it('refuses --data that is not JSON', async () => {
      const department = uniqueName('dept_cli_evt');
      const result = await cli(['event', 'publish', '--department', department, '--type', 'SURVEY_COMPLETED', '--data', '{surveyId: srv_1}']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: event not published:\n {2}data: --data is not valid JSON \(/);
      expect(await eventRows('department_id', department)).toEqual([]);
    });

    it('changes nothing when Redis cannot be reached, and says so once its wait runs out', async () => {
      const department = uniqueName('dept_cli_evt');
      const url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
      const result = await cli(['event', 'publish', '--department', department, '--type', 'SURVEY_COMPLETED', '--data', JSON.stringify(surveyCompleted)], {
        REDIS_URL: url,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot connect to Redis at ${url}`);
      expect(await eventRows('department_id', department)).toEqual([]);
    }, 30_000);

    it("refuses an id that another department's event already has", async () => {
      const id = uniqueName('evt_cli');
      const data = JSON.stringify(surveyCompleted);
      expect((await cli(['event', 'publish', '--department', uniqueName('dept_cli_evt'), '--type', 'SURVEY_COMPLETED', '--data', data, '--id', id])).code).toBe(0);
      const other = uniqueName('dept_cli_evt');
      const result = await cli(['event', 'publish', '--department', other, '--type', 'SURVEY_COMPLETED', '--data', data, '--id', id]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Event id ${id} is already used by another department`);
      expect(await eventRows('department_id', other)).toEqual([]);
    });
  });

  describe('webhook recover', () => {
    const WINDOW = { since: '2026-01-10T00:00:00.000Z', until: '2026-01-20T00:00:00.000Z' };

    /** One event and one delivery of it to the webhook per row (deliveries are unique per event and webhook). */
    async function insertDeliveries(department: string, webhookId: string, rows: { status: string; attempts: number; createdAt: string }[]) {
      const ids = rows.map(() => newId('dlv'));
      const eventIds = rows.map(() => newId('evt'));
      await dataSource.query(
        `INSERT INTO events (id, department_id, type, data, occurred_at)
         SELECT unnest($1::varchar[]), $2, 'SURVEY_COMPLETED', $3::jsonb, now()`,
        [eventIds, department, JSON.stringify(surveyCompleted)],
      );
      await dataSource.query(
        `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, created_at, next_attempt_at)
         SELECT v.id, v.event_id, $4, $5, 'SURVEY_COMPLETED', v.status, v.attempts, v.created_at,
                CASE WHEN v.status = 'pending' THEN v.created_at END
           FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $6::int[], $7::timestamptz[]) AS v(id, event_id, status, attempts, created_at)`,
        [ids, eventIds, rows.map((r) => r.status), webhookId, department, rows.map((r) => r.attempts), rows.map((r) => r.createdAt)],
      );
      return ids;
    }

    const statusOf = async (ids: string[]) =>
      Object.fromEntries(
        (await dataSource.query<{ id: string; status: string }[]>('SELECT id, status FROM deliveries WHERE id = ANY($1)', [ids])).map((r) => [r.id, r.status]),
      );

    it('re-queues exactly the failed and cancelled deliveries created in [since, until)', async () => {
      const department = uniqueName('dept_cli_rec');
      const webhook = await webhookIn(department);
      const other = await webhookIn(department);
      const [failed, cancelled, succeeded, pending, before, atUntil] = await insertDeliveries(department, webhook.id, [
        { status: 'failed', attempts: 8, createdAt: '2026-01-10T00:00:00.000Z' },
        { status: 'cancelled', attempts: 2, createdAt: '2026-01-15T00:00:00.000Z' },
        { status: 'succeeded', attempts: 1, createdAt: '2026-01-15T00:00:00.000Z' },
        { status: 'pending', attempts: 1, createdAt: '2026-01-15T00:00:00.000Z' },
        { status: 'failed', attempts: 8, createdAt: '2026-01-09T23:59:59.999Z' },
        { status: 'failed', attempts: 8, createdAt: WINDOW.until },
      ]);
      const [otherFailed] = await insertDeliveries(department, other.id, [{ status: 'failed', attempts: 8, createdAt: '2026-01-15T00:00:00.000Z' }]);

      const result = await cli(['webhook', 'recover', '--department', department, '--webhook', webhook.id, '--since', WINDOW.since, '--until', WINDOW.until]);
      expect(result).toMatchObject({ code: 0, stdout: 'Re-queued 2 deliveries\n' });
      // Not a terminal: a plain line per page instead of a bar.
      expect(result.stderr).toContain('Re-queued: 2/2\n');

      expect(await statusOf([failed, cancelled, succeeded, pending, before, atUntil, otherFailed])).toEqual({
        [failed]: 'pending',
        [cancelled]: 'pending',
        [succeeded]: 'succeeded',
        [pending]: 'pending',
        [before]: 'failed',
        [atUntil]: 'failed',
        [otherFailed]: 'failed',
      });
      // Each recovered delivery starts its second chain, whose jobs have ids of their own.
      expect(await deliveries.getJobState(deliverJobId(failed, 9, 1))).not.toBe('unknown');
      expect(await deliveries.getJobState(deliverJobId(cancelled, 3, 1))).not.toBe('unknown');
      const untouched: [string, number][] = [
        [succeeded, 2],
        [pending, 2],
        [before, 9],
        [atUntil, 9],
        [otherFailed, 9],
      ];
      for (const [id, nextAttempt] of untouched) {
        for (const chain of [0, 1]) expect(await deliveries.getJobState(deliverJobId(id, nextAttempt, chain))).toBe('unknown');
      }

      const again = await cli(['webhook', 'recover', '--department', department, '--webhook', webhook.id, '--since', WINDOW.since, '--until', WINDOW.until]);
      expect(again).toMatchObject({ code: 0, stdout: 'Re-queued 0 deliveries\n' });
    });

    it('works through pages of 500 and reports each one', async () => {
      const department = uniqueName('dept_cli_rec');
      const webhook = await webhookIn(department);
      const ids = await insertDeliveries(
        department,
        webhook.id,
        Array.from({ length: 1_100 }, (_, i) => ({
          status: i % 2 ? 'failed' : 'cancelled',
          attempts: 3,
          createdAt: new Date(Date.UTC(2026, 0, 15, 0, 0, i)).toISOString(),
        })),
      );

      const result = await cli(['webhook', 'recover', '--department', department, '--webhook', webhook.id, '--since', WINDOW.since]);
      expect(result).toMatchObject({ code: 0, stdout: 'Re-queued 1100 deliveries\n' });
      expect(result.stderr.match(/^Re-queued: .*$/gm)).toEqual(['Re-queued: 500/1100', 'Re-queued: 1000/1100', 'Re-queued: 1100/1100']);
      const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE webhook_id = $1 AND status = 'pending'`, [webhook.id]);
      expect(n).toBe(1_100);
      const states = await Promise.all([ids[0], ids[549], ids[1_099]].map((id) => deliveries.getJobState(deliverJobId(id, 4, 1))));
      expect(states).not.toContain('unknown');
    });

    it('exits 1 for a webhook that is not in the department', async () => {
      const department = uniqueName('dept_cli_rec');
      const elsewhere = await webhookIn(uniqueName('dept_cli_rec'));
      for (const webhookId of ['wh_doesnotexist', elsewhere.id]) {
        const result = await cli(['webhook', 'recover', '--department', department, '--webhook', webhookId, '--since', WINDOW.since]);
        expect(result.code).toBe(1);
        expect(result.stdout).toBe('');
        expect(result.stderr.trim()).toBe(`error: webhook ${webhookId} not found in department ${department}`);
      }
    });

    it('exits 1 with the reason for an inactive webhook and re-queues nothing', async () => {
      const department = uniqueName('dept_cli_rec');
      const webhook = await webhookIn(department);
      await db.repos.webhooks.disable(webhook.id, 'gone');
      const [failed] = await insertDeliveries(department, webhook.id, [{ status: 'failed', attempts: 8, createdAt: '2026-01-15T00:00:00.000Z' }]);

      const result = await cli(['webhook', 'recover', '--department', department, '--webhook', webhook.id, '--since', WINDOW.since]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(`error: webhook ${webhook.id} is inactive (disabled: gone); activate it before recovering its deliveries`);
      expect(await statusOf([failed])).toEqual({ [failed]: 'failed' });
    });

    it('refuses a time that is not ISO-8601 and an empty window', async () => {
      const bad = await cli(['webhook', 'recover', '--department', 'dept_x', '--webhook', 'wh_x', '--since', 'last tuesday']);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/--since .*Not an ISO-8601 time/);
      const empty = await cli(['webhook', 'recover', '--department', 'dept_x', '--webhook', 'wh_x', '--since', WINDOW.until, '--until', WINDOW.since]);
      expect(empty.code).toBe(1);
      expect(empty.stderr.trim()).toBe('error: --until must be after --since');
    });
  });
});
