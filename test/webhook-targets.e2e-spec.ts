import { newId, SecretBox } from '@pollarix/common';
import { Database, dataSourceOptions, webhookSealContext } from '@pollarix/database';
import { closeRedisConnection, createRedisConnection, RedisConnection, WebhookChanges } from '@pollarix/redis';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CachedTarget, WebhookTargets } from '../apps/worker/src/delivery/webhook-targets';
import { call, startApi, TestApi, uniqueDepartment } from './support/api-harness';
import { waitUntil } from './support/system';
import { unscrapedWorkerMetrics } from '../apps/worker/src/ops/worker-metrics';

/**
 * The worker's webhook cache against real PostgreSQL and Redis: the API in-process, the worker's side
 * on connections of its own (its own pool and its own Redis subscriber), as another process would be.
 */
describe('worker webhook targets (cache invalidated through Redis)', () => {
  let api: TestApi;
  let dataSource: DataSource;
  let db: Database;
  let redis: RedisConnection;
  let changes: WebhookChanges;
  let targets: WebhookTargets;
  let reads: jest.SpyInstance;
  const ANNOUNCED_WITHIN_MS = 5_000;

  beforeAll(async () => {
    api = await startApi({ DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    dataSource = new DataSource(dataSourceOptions(api.config.databaseUrl!, { logging: false }));
    await dataSource.initialize();
    db = new Database(dataSource, api.config);
    reads = jest.spyOn(db.repos.webhooks, 'findTargets');
    redis = createRedisConnection(api.config.redisUrl!, 'test-worker');
    changes = new WebhookChanges(redis);
    // A TTL far beyond the test's waits: only an announcement can explain a change seen in time.
    targets = new WebhookTargets(db, changes, unscrapedWorkerMetrics(), { ttlMs: 10 * 60_000 });
    await changes.onModuleInit();
  });

  afterAll(async () => {
    await changes?.onModuleDestroy();
    if (redis) await closeRedisConnection(redis);
    await dataSource?.destroy();
    await api?.close();
  });

  beforeEach(() => reads.mockClear());

  async function createWebhook(department: string, token: string, url = 'https://example.com/hook'): Promise<string> {
    const res = await call(api.baseUrl, 'POST', `/department/${department}/webhook/`, {
      token,
      body: { name: 'w', url, events: ['SURVEY_COMPLETED'], headers: { 'X-Tenant': department } },
    });
    expect(res.status).toBe(201);
    return res.body.webhooks[0].id as string;
  }

  const one = async (id: string, cache = targets): Promise<CachedTarget | null> => (await cache.get([id])).get(id)!;

  it('serves a cached target without reading PostgreSQL again', async () => {
    const department = uniqueDepartment();
    const token = await api.token([department]);
    const id = await createWebhook(department, token);

    let first = await one(id);
    expect(first).toMatchObject({ id, departmentId: department, isActive: true, error: null });
    expect(first!.target!.webhook.headers).toEqual({ 'X-Tenant': department });
    expect(first!.target!.secret).toMatch(/^whsec_/);
    expect(reads).toHaveBeenCalledTimes(1);
    // The creation's own announcement may arrive after that read began, and a read that raced an
    // announcement is not kept: read until one is kept (on a quiet machine, the first).
    await waitUntil('the target is kept', async () => (first = await one(id)) === (await one(id)), 5_000);
    reads.mockClear();

    for (let i = 0; i < 5; i++) expect(await one(id)).toBe(first);
    expect(reads).not.toHaveBeenCalled();
  });

  it("sees the API's update, rotation, deactivation and deletion through Redis, and keeps another department's entries", async () => {
    const [a, b] = [uniqueDepartment('a'), uniqueDepartment('b')];
    const token = await api.token([a, b]);
    // The creations announce themselves too, and an announcement that arrives after the first read
    // below would drop its entry: wait for both first. A listener added after the cache's sees each
    // announcement once the cache has handled it.
    const announced = new Set<string>();
    const stopListening = changes.listen({ onChange: (department) => announced.add(department), onStale: () => undefined });
    const idA = await createWebhook(a, token, 'https://a.example.com/v1');
    const idB = await createWebhook(b, token, 'https://b.example.com/v1');
    await waitUntil('both creations announced', () => announced.has(a) && announced.has(b), ANNOUNCED_WITHIN_MS);
    stopListening();
    const before = await targets.get([idA, idB]);
    const entryB = before.get(idB);
    const path = `/department/${a}/webhook/${idA}`;

    const put = await call(api.baseUrl, 'PUT', path, { token, body: { name: 'w', url: 'https://a.example.com/v2', events: ['SURVEY_COMPLETED'] } });
    expect(put.status).toBe(200);
    await waitUntil('the worker cache sees the new URL', async () => (await one(idA))?.target?.webhook.url === 'https://a.example.com/v2', ANNOUNCED_WITHIN_MS);
    const updated = (await one(idA))!;
    expect(updated.target!.webhook.headers).toEqual({});
    expect(updated.updatedAt.getTime()).toBeGreaterThan(before.get(idA)!.updatedAt.getTime());

    // Department B's entry survived A's change: served as it was, without a read.
    reads.mockClear();
    expect(await one(idB)).toBe(entryB);
    expect(reads).not.toHaveBeenCalled();

    const oldSecret = updated.target!.secret;
    const rotated = await call(api.baseUrl, 'POST', `${path}/secret/rotate`, { token });
    expect(rotated.status).toBe(200);
    await waitUntil('the worker cache signs with the new secret', async () => (await one(idA))?.target?.secret === rotated.body.secret, ANNOUNCED_WITHIN_MS);
    expect((await one(idA))!.target!.previous).toEqual({ secret: oldSecret, expiresAt: expect.any(Date) });

    const off = await call(api.baseUrl, 'PUT', path, { token, body: { name: 'w', url: 'https://a.example.com/v2', events: ['SURVEY_COMPLETED'], isActive: false } });
    expect(off.status).toBe(200);
    await waitUntil('the worker cache sees the webhook inactive', async () => (await one(idA))?.isActive === false, ANNOUNCED_WITHIN_MS);

    expect((await call(api.baseUrl, 'DELETE', path, { token })).status).toBe(204);
    await waitUntil('the worker cache sees the webhook deleted', async () => (await one(idA)) === null, ANNOUNCED_WITHIN_MS);
    // Deleted is cached too: a storm of attempts to it reads nothing.
    reads.mockClear();
    for (let i = 0; i < 5; i++) expect(await one(idA)).toBeNull();
    expect(reads).not.toHaveBeenCalled();
    expect(await one(idB)).toBe(entryB);
  });

  it("sees a worker-side disable announced by another process's WebhookChanges", async () => {
    const department = uniqueDepartment();
    const token = await api.token([department]);
    const id = await createWebhook(department, token);
    expect((await one(id))!.isActive).toBe(true);
    // What WebhookDisabler does in another worker: the write, then the announcement.
    const otherWorker = new WebhookChanges(api.redis);
    expect(await api.db.repos.webhooks.disable(id, 'gone')).toBe(true);
    await otherWorker.changed(department);
    await waitUntil('the worker cache sees the webhook disabled', async () => (await one(id))?.isActive === false, ANNOUNCED_WITHIN_MS);
  });

  it('gives an undecryptable webhook its error while the rest of its batch loads, in one query', async () => {
    const department = uniqueDepartment();
    const token = await api.token([department]);
    const good = await createWebhook(department, token);
    const bad = newId('wh');
    const box = new SecretBox(api.config.secretsEncryptionKeys);
    await api.db.dataSource.query(
      `INSERT INTO webhooks (id, department_id, name, url, events, headers_sealed, secret_sealed)
       VALUES ($1, $2, 'w', 'https://example.com/bad', '{SURVEY_COMPLETED}', $3, $4)`,
      [
        bad,
        department,
        box.sealJson({}, webhookSealContext(bad, 'headers_sealed')),
        new SecretBox(randomBytes(32)).seal('whsec_foreign', webhookSealContext(bad, 'secret_sealed')),
      ],
    );
    const gone = newId('wh');

    const found = await targets.get([good, bad, gone]);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(found.get(good)).toMatchObject({ error: null, target: { webhook: { id: good } } });
    expect(found.get(bad)).toMatchObject({ id: bad, departmentId: department, isActive: true, target: null, error: expect.any(String) });
    expect(found.get(gone)).toBeNull();
  });

  it('bounds a missed announcement by the TTL', async () => {
    const department = uniqueDepartment();
    const token = await api.token([department]);
    const id = await createWebhook(department, token, 'https://example.com/before');
    const ttlMs = 1_500;
    // No subscription at all: every announcement is missed.
    const deaf = new WebhookTargets(db, new WebhookChanges(redis), unscrapedWorkerMetrics(), { ttlMs });
    expect((await one(id, deaf))!.target!.webhook.url).toBe('https://example.com/before');
    const loadedAt = Date.now();
    await api.db.dataSource.query(`UPDATE webhooks SET url = 'https://example.com/after', updated_at = now() WHERE id = $1`, [id]);
    if (Date.now() - loadedAt < ttlMs / 2) expect((await one(id, deaf))!.target!.webhook.url).toBe('https://example.com/before');
    await waitUntil(
      'the missed change is seen once the entry expired',
      async () => (await one(id, deaf))!.target!.webhook.url === 'https://example.com/after',
      ttlMs * 3,
    );
  });
});

/** Every write that cancels deliveries or changes what is sent moves updated_at (queued attempts compare it). */
describe('webhook writes move updated_at', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api?.close());

  async function webhook(): Promise<string> {
    const id = newId('wh');
    await api.db.repos.webhooks.insert(
      id,
      uniqueDepartment(),
      { name: 'w', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'], headers: {}, isActive: true },
      'whsec_x',
    );
    // Start from a time well in the past, so that any write's now() is later.
    await api.db.dataSource.query(`UPDATE webhooks SET updated_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    return id;
  }
  const updatedAt = async (id: string): Promise<number> => {
    const [row]: { at: Date }[] = await api.db.dataSource.query('SELECT updated_at AS at FROM webhooks WHERE id = $1', [id]);
    return row.at.getTime();
  };
  const moves = async (id: string, write: () => Promise<unknown>): Promise<boolean> => {
    const before = await updatedAt(id);
    await write();
    return (await updatedAt(id)) > before;
  };

  it('on update, rotateSecret and disable', async () => {
    const repos = api.db.repos.webhooks;
    const id = await webhook();
    const [{ department_id: department }]: { department_id: string }[] = await api.db.dataSource.query('SELECT department_id FROM webhooks WHERE id = $1', [id]);
    const fields = { name: 'w2', url: 'https://example.com/2', events: ['SURVEY_COMPLETED'], headers: {}, isActive: true };
    expect(await moves(id, () => repos.update(department, id, fields))).toBe(true);
    await api.db.dataSource.query(`UPDATE webhooks SET updated_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    expect(await moves(id, () => repos.rotateSecret(department, id, 'whsec_y', new Date(Date.now() + 60_000)))).toBe(true);
    await api.db.dataSource.query(`UPDATE webhooks SET updated_at = now() - interval '1 hour' WHERE id = $1`, [id]);
    expect(await moves(id, () => repos.disable(id, 'gone'))).toBe(true);
  });

  it('not on a failure counted into the streak (the lifecycle disables through `disable`, above)', async () => {
    const repos = api.db.repos.webhooks;
    const id = await webhook();
    const longAgo = new Date(Date.now() - 10 * 86_400_000);
    expect(await moves(id, () => repos.recordFailedDelivery(id, longAgo))).toBe(false);
    expect(await moves(id, () => repos.recordFailedDelivery(id, longAgo))).toBe(false);
  });
});
