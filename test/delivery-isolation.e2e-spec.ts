import { newId, SecretBox } from '@pollarix/common';
import type { AppConfig } from '@pollarix/config';
import { AttemptOutcome, Database, dataSourceOptions, deliveryTargetAt, INLINE_EVENT_BYTES, webhookSealContext } from '@pollarix/database';
import { ATTEMPT_RECORDABLE_STATUSES, CANCELLABLE_STATUSES, RECOVERABLE_STATUSES, REDELIVERABLE_STATUSES } from '@pollarix/lifecycle';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AttemptLog } from '../apps/worker/src/delivery/attempt-log';
import { unscrapedWorkerMetrics, WorkerMetrics } from '../apps/worker/src/ops/worker-metrics';
import { createScratchDatabase } from './support/infra';

/**
 * One bad row never fails its batch-mates (SPEC §7 isolation), against a real PostgreSQL: a webhook
 * whose sealed secret cannot be opened, an attempt whose response PostgreSQL text cannot hold, and an
 * event too large to come with a batch. Two departments side by side; the healthy one must not notice.
 */
describe('delivery batches with one bad item (scratch database)', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let dataSource: DataSource;
  let client: Client;
  let db: Database;
  let metrics: WorkerMetrics;
  const key = randomBytes(32);
  const box = new SecretBox(key);

  beforeAll(async () => {
    scratch = await createScratchDatabase('isolation');
    dataSource = new DataSource(dataSourceOptions(scratch.url, { logging: false }));
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    client = new Client({ connectionString: scratch.url });
    await client.connect();
    const config: Pick<AppConfig, 'secretsEncryptionKeys'> = { secretsEncryptionKeys: [key] };
    db = new Database(dataSource, config as AppConfig);
    metrics = unscrapedWorkerMetrics();
  });

  afterAll(async () => {
    await client?.end();
    await dataSource?.destroy();
    await scratch?.drop();
  });

  /** A webhook of `department` and `count` pending deliveries to it, each of its own event with `data`. */
  async function deliveriesTo(
    department: string,
    sealSecret: (webhookId: string) => string,
    count: number,
    data: object = {},
  ): Promise<{ webhookId: string; ids: string[] }> {
    const webhookId = newId('wh');
    await client.query(
      `INSERT INTO webhooks (id, department_id, name, url, events, headers_sealed, secret_sealed, created_at)
       VALUES ($1, $2, 'w', 'https://example.com/hook', '{SURVEY_COMPLETED}', $3, $4, now() - interval '1 day')`,
      [webhookId, department, box.sealJson({}, webhookSealContext(webhookId, 'headers_sealed')), sealSecret(webhookId)],
    );
    const ids = Array.from({ length: count }, () => newId('msg'));
    const eventIds = ids.map(() => newId('evt'));
    await client.query(
      `INSERT INTO events (id, department_id, type, data, occurred_at, fanned_out_at)
       SELECT unnest($1::varchar[]), $2, 'SURVEY_COMPLETED', $3::jsonb, now(), now()`,
      [eventIds, department, JSON.stringify(data)],
    );
    await client.query(
      `INSERT INTO deliveries (id, event_id, webhook_id, department_id, event_type, status, attempts, next_attempt_at)
       SELECT unnest($1::varchar[]), unnest($2::varchar[]), $3, $4, 'SURVEY_COMPLETED', 'pending', 0, now()`,
      [ids, eventIds, webhookId, department],
    );
    return { webhookId, ids };
  }

  const sealedSecret = (webhookId: string) => box.seal(`whsec_${randomBytes(24).toString('base64')}`, webhookSealContext(webhookId, 'secret_sealed'));

  it('a webhook whose secret cannot be decrypted fails only its own deliveries in an attempt load', async () => {
    const broken = await deliveriesTo(newId('dept'), () => 'not-a-sealed-value', 2);
    // Sealed under another key: what a lost or rotated-away key looks like.
    const foreign = await deliveriesTo(newId('dept'), (id) => new SecretBox(randomBytes(32)).seal('whsec_x', webhookSealContext(id, 'secret_sealed')), 1);
    const healthy = await deliveriesTo(newId('dept'), sealedSecret, 3);
    // An attempt load: the deliveries, then their webhooks as the worker's cache reads them (one query each).
    const loads = await db.repos.deliveries.findForAttempts([...broken.ids, ...healthy.ids, ...foreign.ids]);
    const webhooks = await db.repos.webhooks.findTargets(loads.map((d) => d.webhookId));
    const byId = new Map(loads.map((d) => [d.id, webhooks.get(d.webhookId)!]));
    expect(loads).toHaveLength(6);
    for (const id of [...broken.ids, ...foreign.ids]) expect([byId.get(id)!.target, typeof byId.get(id)!.error]).toEqual([null, 'string']);
    for (const id of healthy.ids) {
      expect(byId.get(id)!.error).toBeNull();
      expect(deliveryTargetAt(byId.get(id)!.target!).secrets[0]).toMatch(/^whsec_/);
    }
  });

  it('an event larger than INLINE_EVENT_BYTES is not read with its batch; its size is, and findData reads it alone', async () => {
    const department = newId('dept');
    const large = await deliveriesTo(department, sealedSecret, 1, { blob: 'x'.repeat(INLINE_EVENT_BYTES + 1) });
    const small = await deliveriesTo(department, sealedSecret, 1, { n: 1 });
    const loads = await db.repos.deliveries.findForAttempts([...large.ids, ...small.ids]);
    const [big, little] = [large.ids[0], small.ids[0]].map((id) => loads.find((d) => d.id === id)!.event);
    expect([big.data, big.dataBytes > INLINE_EVENT_BYTES]).toEqual([null, true]);
    expect(little.data).toEqual({ n: 1 });
    expect(((await db.repos.events.findData(big.id)) as { blob: string }).blob).toHaveLength(INLINE_EVENT_BYTES + 1);
  });

  it('an attempt whose response PostgreSQL cannot store is logged without it; its batch-mates are logged whole', async () => {
    const poisoned = await deliveriesTo(newId('dept'), sealedSecret, 1);
    const healthy = await deliveriesTo(newId('dept'), sealedSecret, 4);
    const log = new AttemptLog(db, metrics);
    const outcome = (deliveryId: string, webhookId: string, responseBody: string): AttemptOutcome => ({
      deliveryId,
      webhookId,
      attempt: 1,
      requestedAt: new Date(),
      durationMs: 3,
      statusCode: 200,
      responseBody,
      responseBodyTruncated: false,
      responseContentType: 'application/octet-stream',
      chain: 0,
      error: null,
      errorMessage: null,
      status: 'succeeded',
      nextAttemptAt: null,
    });
    // Written as the sender never would (it escapes NULs): the log itself must survive such a row.
    const all = [
      ...healthy.ids.slice(0, 2).map((id) => outcome(id, healthy.webhookId, 'ok')),
      outcome(poisoned.ids[0], poisoned.webhookId, 'bin\u0000ary'),
      ...healthy.ids.slice(2).map((id) => outcome(id, healthy.webhookId, 'ok')),
    ];
    await Promise.all(all.map((o) => log.record(o)));

    const { rows } = await client.query(
      `SELECT d.id, d.status, a.response_body, a.error_message FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.id = ANY($1)`,
      [[...healthy.ids, ...poisoned.ids]],
    );
    const byId = new Map((rows as { id: string; status: string; response_body: string; error_message: string | null }[]).map((r) => [r.id, r]));
    for (const id of healthy.ids) expect(byId.get(id)).toMatchObject({ status: 'succeeded', response_body: 'ok', error_message: null });
    expect(byId.get(poisoned.ids[0])).toMatchObject({ status: 'succeeded', response_body: '' });
    expect(byId.get(poisoned.ids[0])!.error_message).toMatch(/^Response not stored: /);
    expect((await metrics.registry.getSingleMetric('pollarix_delivery_item_failures_total')!.get()).values).toEqual([
      expect.objectContaining({ labels: { stage: 'log' }, value: 1 }),
    ]);
  });

  describe('attempt chains', () => {
    const failedAttempt = (deliveryId: string, webhookId: string, attempt: number, chain: number): AttemptOutcome => ({
      deliveryId,
      webhookId,
      attempt,
      requestedAt: new Date(),
      durationMs: 5000,
      statusCode: null,
      responseBody: '',
      responseBodyTruncated: false,
      responseContentType: null,
      chain,
      error: 'timeout',
      errorMessage: 'Timed out',
      status: 'pending',
      nextAttemptAt: new Date(Date.now() + 60_000),
    });
    const row = async (id: string) =>
      (
        await client.query<{ status: string; attempts: number; chain: number; next_attempt_at: Date | null; logged: string[] }>(
          `SELECT status, attempts, chain, next_attempt_at, ARRAY(SELECT attempt::text FROM delivery_attempts WHERE delivery_id = d.id ORDER BY attempt) AS logged
             FROM deliveries d WHERE id = $1`,
          [id],
        )
      ).rows[0];

    it('an attempt in flight when its delivery was cancelled is logged and counted; the delivery stays cancelled and a recover starts after it', async () => {
      const department = newId('dept');
      const { webhookId, ids } = await deliveriesTo(department, sealedSecret, 1);
      const bystander = await deliveriesTo(newId('dept'), sealedSecret, 1);
      await db.repos.deliveries.cancel(ids[0], CANCELLABLE_STATUSES);
      const moved = await db.repos.deliveries.recordOutcomes(
        [failedAttempt(ids[0], webhookId, 1, 0), failedAttempt(bystander.ids[0], bystander.webhookId, 1, 0)],
        ATTEMPT_RECORDABLE_STATUSES,
      );
      expect(moved).toEqual(
        new Map([
          [ids[0], 'cancelled'],
          [bystander.ids[0], 'pending'],
        ]),
      );
      expect(await row(ids[0])).toMatchObject({ status: 'cancelled', attempts: 1, next_attempt_at: null, logged: ['1'] });
      expect(await row(bystander.ids[0])).toMatchObject({ status: 'pending', attempts: 1, logged: ['1'] });

      const { jobs } = await db.repos.deliveries.restartChains({ webhookId, ids, statuses: REDELIVERABLE_STATUSES }, 1);
      expect(jobs).toEqual([expect.objectContaining({ id: ids[0], nextAttempt: 2, chain: 1, webhookId, departmentId: department })]);
    });

    it("an earlier chain's late outcome moves nothing and logs nothing, and says so", async () => {
      const { webhookId, ids } = await deliveriesTo(newId('dept'), sealedSecret, 1);
      await db.repos.deliveries.cancel(ids[0], CANCELLABLE_STATUSES);
      await db.repos.deliveries.restartChains({ webhookId, ids, statuses: REDELIVERABLE_STATUSES }, 1);
      expect(await db.repos.deliveries.recordOutcomes([failedAttempt(ids[0], webhookId, 1, 0)], ATTEMPT_RECORDABLE_STATUSES)).toEqual(new Map());
      expect(await row(ids[0])).toMatchObject({ status: 'pending', attempts: 0, chain: 1, logged: [] });
      // A duplicate of an attempt already logged moves nothing either.
      expect(await db.repos.deliveries.recordOutcomes([failedAttempt(ids[0], webhookId, 1, 1)], ATTEMPT_RECORDABLE_STATUSES)).toEqual(new Map([[ids[0], 'pending']]));
      expect(await db.repos.deliveries.recordOutcomes([failedAttempt(ids[0], webhookId, 1, 1)], ATTEMPT_RECORDABLE_STATUSES)).toEqual(new Map());
      expect(await row(ids[0])).toMatchObject({ status: 'pending', attempts: 1, chain: 1, logged: ['1'] });
    });

    it('recover pages by position: deliveries cancelled again after their restart are not restarted twice in one recover', async () => {
      const { webhookId, ids } = await deliveriesTo(newId('dept'), sealedSecret, 5);
      await client.query(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = ANY($1)`, [ids]);
      const restarted: string[] = [];
      let after = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof db.repos.deliveries.restartChains>> = await db.repos.deliveries.restartChains(
          { webhookId, statuses: RECOVERABLE_STATUSES, after },
          2,
        );
        restarted.push(...page.jobs.map((job) => job.id));
        // What a worker does when a 410 disables the webhook meanwhile: its pending deliveries are cancelled.
        await db.repos.deliveries.cancelForWebhook(webhookId, CANCELLABLE_STATUSES);
        after = page.next;
        pages++;
      } while (after !== null && pages < 10);
      expect(restarted.sort()).toEqual([...ids].sort());
      expect(pages).toBe(3);
    });
  });
});
