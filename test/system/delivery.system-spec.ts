import { Webhook as StandardWebhook } from 'standardwebhooks';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { startReceiver } from '../support/receiver';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';

const completedData = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

describe('delivery pipeline (real API, worker processes, PostgreSQL, Redis, receivers)', () => {
  let stack: Stack;
  let env: Record<string, string>;
  let api: TestApi;
  let worker: WorkerProcess;
  let publisherToken: string;

  beforeAll(async () => {
    stack = await startStack('delivery');
    env = {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
      DELIVERY_RETRY_SCHEDULE: '300ms,300ms,300ms',
      DELIVERY_TIMEOUT_MS: '1500',
      AUTO_DISABLE_AFTER: '0s',
      AUTO_DISABLE_MIN_FAILURES: '2',
      QUEUE_LOCK_DURATION: '3s',
      SWEEPER_INTERVAL: '1s',
      SWEEPER_GRACE: '3s',
      WORKER_HTTP_PORT: '0',
    };
    api = await startApi(env);
    worker = await spawnWorker(env);
    publisherToken = await api.token(['*'], ['events:publish']);
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await stack?.close();
  });

  async function department(receivers: { url: string; events?: string[]; headers?: Record<string, string> }[]) {
    const dept = uniqueDepartment();
    const token = await api.token([dept]);
    const webhooks = [];
    for (const [i, r] of receivers.entries()) {
      const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
        token,
        body: { name: `hook ${i}`, url: r.url, events: r.events ?? ['SURVEY_COMPLETED'], headers: r.headers ?? {} },
      });
      expect(res.status).toBe(201);
      webhooks.push(res.body.webhooks[0] as { id: string; secret: string });
    }
    return { dept, token, webhooks };
  }

  const publish = (dept: string, type = 'SURVEY_COMPLETED', data: object = completedData, id?: string) =>
    call(api.baseUrl, 'POST', '/internal/events', { token: publisherToken, body: { type, departmentId: dept, data, ...(id ? { id } : {}) } });

  const deliveries = async (dept: string, token: string, webhookId: string) =>
    (await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhookId}/deliveries?limit=100`, { token })).body.deliveries as {
      id: string;
      status: string;
      attempts: number;
    }[];

  it('delivers a published event to every subscribed webhook and no other, signed, with custom headers', async () => {
    const a = await startReceiver();
    const b = await startReceiver();
    const other = await startReceiver();
    try {
      const { dept, token, webhooks } = await department([
        { url: a.url, headers: { 'X-Custom': 'one' } },
        { url: b.url, events: ['SURVEY_COMPLETED', 'COUPON_REDEEMED'] },
        { url: other.url, events: ['COUPON_REDEEMED'] },
      ]);
      const published = await publish(dept);
      expect(published.status).toBe(202);
      expect(published.body).toMatchObject({ id: expect.stringMatching(/^evt_/), type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData });

      await waitUntil('both subscribed receivers got it', () => a.requests.length === 1 && b.requests.length === 1);
      for (const [receiver, webhook] of [
        [a, webhooks[0]],
        [b, webhooks[1]],
      ] as const) {
        const got = receiver.requests[0];
        expect(JSON.parse(got.body)).toEqual(published.body);
        const verified = new StandardWebhook(webhook.secret).verify(got.body, got.headers as Record<string, string>);
        expect(verified).toEqual(published.body);
      }
      expect(a.requests[0].headers['x-custom']).toBe('one');
      expect(a.requests[0].headers['webhook-id']).not.toBe(b.requests[0].headers['webhook-id']);
      await waitUntil('logged as succeeded', async () => (await deliveries(dept, token, webhooks[0].id))[0]?.status === 'succeeded');
      expect(other.requests).toHaveLength(0);

      // The same event id again: accepted once, answered with the first event, delivered once.
      const again = await publish(dept, 'SURVEY_COMPLETED', { ...completedData, surveyId: 'changed' }, published.body.id);
      expect(again.status).toBe(202);
      expect(again.body).toEqual(published.body);
      const marker = await publish(dept);
      await waitUntil('the next event arrived', () => a.requests.length === 2);
      expect(JSON.parse(a.requests[1].body).id).toBe(marker.body.id);
    } finally {
      await Promise.all([a.close(), b.close(), other.close()]);
    }
  });

  it('500, 500, 200: delivered on attempt 3 with three attempts logged and one webhook-id', async () => {
    let calls = 0;
    const receiver = await startReceiver((_req, res) => {
      calls += 1;
      res.writeHead(calls < 3 ? 500 : 200).end(calls < 3 ? 'boom' : 'ok');
    });
    try {
      const { dept, token, webhooks } = await department([{ url: receiver.url }]);
      await publish(dept);
      await waitUntil('three attempts', () => receiver.requests.length === 3);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
      await waitUntil('succeeded', async () => (await deliveries(dept, token, webhooks[0].id))[0]?.status === 'succeeded');
      const [summary] = await deliveries(dept, token, webhooks[0].id);
      expect(summary.attempts).toBe(3);
      const detail = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhooks[0].id}/deliveries/${summary.id}`, { token });
      expect(detail.body.attempts.map((x: { statusCode: number }) => x.statusCode)).toEqual([500, 500, 200]);
      expect(detail.body.attempts[0]).toMatchObject({ attempt: 1, responseBody: 'boom', error: 'http_status' });
      expect(detail.body.payload.type).toBe('SURVEY_COMPLETED');
    } finally {
      await receiver.close();
    }
  });

  it('a 3xx is a failure and is not followed', async () => {
    const receiver = await startReceiver((req, res) => {
      if (req.path === '/hook') res.writeHead(301, { location: '/elsewhere' }).end();
      else res.writeHead(200).end();
    });
    try {
      const { dept, token, webhooks } = await department([{ url: receiver.url }]);
      await publish(dept);
      await waitUntil('retries exhausted', async () => (await deliveries(dept, token, webhooks[0].id))[0]?.status === 'failed');
      expect(receiver.requests.every((r) => r.path === '/hook')).toBe(true);
      expect(receiver.requests).toHaveLength(4);
    } finally {
      await receiver.close();
    }
  });

  it('Retry-After: 2 delays the next attempt by at least 2 s', async () => {
    const times: number[] = [];
    const receiver = await startReceiver((_req, res) => {
      times.push(Date.now());
      if (times.length === 1) res.writeHead(429, { 'retry-after': '2' }).end();
      else res.writeHead(204).end();
    });
    try {
      const { dept } = await department([{ url: receiver.url }]);
      await publish(dept);
      await waitUntil('second attempt', () => times.length === 2, 10_000);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(2000);
    } finally {
      await receiver.close();
    }
  });

  it('410 disables the webhook at once (no retries) and announces WEBHOOK_DISABLED', async () => {
    const gone = await startReceiver((_req, res) => res.writeHead(410).end());
    const watcher = await startReceiver();
    try {
      const { dept, token, webhooks } = await department([{ url: gone.url }, { url: watcher.url, events: ['WEBHOOK_DISABLED'] }]);
      await publish(dept);
      await waitUntil('disabled', async () => {
        const res = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhooks[0].id}`, { token });
        return res.body.webhooks[0].isActive === false;
      });
      const res = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhooks[0].id}`, { token });
      expect(res.body.webhooks[0].disabledReason).toBe('gone');
      await waitUntil('WEBHOOK_DISABLED delivered', () => watcher.requests.length === 1);
      expect(JSON.parse(watcher.requests[0].body)).toMatchObject({ type: 'WEBHOOK_DISABLED', data: { webhookId: webhooks[0].id, reason: 'gone' } });
      expect(gone.requests).toHaveLength(1);
      expect((await deliveries(dept, token, webhooks[0].id))[0]).toMatchObject({ status: 'failed', attempts: 1 });
    } finally {
      await Promise.all([gone.close(), watcher.close()]);
    }
  });

  it('exhausted retries fail the delivery; a failing streak auto-disables the webhook', async () => {
    const failing = await startReceiver((_req, res) => res.writeHead(503).end());
    const watcher = await startReceiver();
    try {
      const { dept, token, webhooks } = await department([{ url: failing.url }, { url: watcher.url, events: ['WEBHOOK_DISABLED'] }]);
      await publish(dept);
      await publish(dept);
      await waitUntil('two failed deliveries', async () => (await deliveries(dept, token, webhooks[0].id)).filter((d) => d.status === 'failed').length === 2);
      expect(failing.requests).toHaveLength(8);
      await waitUntil('auto-disabled and announced', () => watcher.requests.length === 1);
      expect(JSON.parse(watcher.requests[0].body).data).toMatchObject({ webhookId: webhooks[0].id, reason: 'failing' });
      const res = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhooks[0].id}`, { token });
      expect(res.body.webhooks[0]).toMatchObject({ isActive: false, disabledReason: 'failing' });
    } finally {
      await Promise.all([failing.close(), watcher.close()]);
    }
  });

  it('deleting or deactivating a webhook cancels its pending deliveries; recover and redeliver send again', async () => {
    let failing = true;
    const receiver = await startReceiver((_req, res) => res.writeHead(failing ? 500 : 204).end());
    try {
      const { dept, token, webhooks } = await department([{ url: receiver.url }]);
      const id = webhooks[0].id;
      await publish(dept);
      await waitUntil('first attempt failed', () => receiver.requests.length >= 1);
      const off = await call(api.baseUrl, 'PUT', `/department/${dept}/webhook/${id}`, {
        token,
        body: { name: 'hook', url: receiver.url, events: ['SURVEY_COMPLETED'], isActive: false },
      });
      expect(off.status).toBe(200);
      await waitUntil('cancelled', async () => (await deliveries(dept, token, id))[0]?.status === 'cancelled');
      const count = receiver.requests.length;

      failing = false;
      await call(api.baseUrl, 'PUT', `/department/${dept}/webhook/${id}`, { token, body: { name: 'hook', url: receiver.url, events: ['SURVEY_COMPLETED'] } });
      const recovered = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/${id}/recover`, {
        token,
        body: { since: new Date(Date.now() - 60_000).toISOString() },
      });
      expect(recovered).toMatchObject({ status: 202, body: { requeued: 1 } });
      await waitUntil('recovered delivery succeeded', async () => (await deliveries(dept, token, id))[0]?.status === 'succeeded');
      expect(receiver.requests.length).toBe(count + 1);
      expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1);

      const [delivered] = await deliveries(dept, token, id);
      const again = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/${id}/deliveries/${delivered.id}/redeliver`, { token });
      expect(again.status).toBe(202);
      await waitUntil('redelivered', () => receiver.requests.length === count + 2);
      await waitUntil('logged', async () => (await deliveries(dept, token, id))[0]?.attempts === delivered.attempts + 1);

      // Another department's token sees none of it.
      const stranger = await api.token([uniqueDepartment()]);
      expect((await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${id}/deliveries`, { token: stranger })).status).toBe(403);
      const foreignDept = uniqueDepartment();
      const foreignToken = await api.token([foreignDept]);
      expect((await call(api.baseUrl, 'GET', `/department/${foreignDept}/webhook/${id}/deliveries`, { token: foreignToken })).status).toBe(404);
      expect((await call(api.baseUrl, 'GET', `/department/${foreignDept}/webhook/${id}/deliveries/${delivered.id}`, { token: foreignToken })).status).toBe(404);

      const deleted = await call(api.baseUrl, 'DELETE', `/department/${dept}/webhook/${id}`, { token });
      expect(deleted.status).toBe(204);
    } finally {
      await receiver.close();
    }
  });

  it('rejects bad events in the error format and enqueues nothing', async () => {
    const receiver = await startReceiver();
    try {
      const { dept } = await department([{ url: receiver.url }]);
      const cases: [unknown, number][] = [
        [{ type: 'NOPE', departmentId: dept, data: {} }, 422],
        [{ type: 'SURVEY_COMPLETED', departmentId: dept, data: { surveyId: 'x' } }, 422],
        [{ type: 'SURVEY_COMPLETED', data: completedData }, 400],
        [{ type: 'SURVEY_COMPLETED', departmentId: dept, data: { ...completedData, blob: 'x'.repeat(1024 * 1024) } }, 413],
      ];
      for (const [body, status] of cases) {
        const res = await call(api.baseUrl, 'POST', '/internal/events', { token: publisherToken, body });
        expect(res.status).toBe(status);
        expect(res.body).toEqual({ status, detail: expect.any(Array) });
      }
      const batch = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisherToken,
        body: {
          events: [
            { type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData },
            { type: 'NOPE', departmentId: dept, data: {} },
          ],
        },
      });
      expect(batch.status).toBe(422);
      expect(batch.body.detail[0].loc).toEqual(['body', 'events', 1, 'type']);
      const tooMany = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisherToken,
        body: { events: Array.from({ length: 501 }, () => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData })) },
      });
      expect(tooMany.status).toBe(422);
      // An id another department's event already has: 409, and the batch's other events are not stored either.
      const other = uniqueDepartment();
      const taken = `evt_taken_${other}`;
      expect(
        (
          await call(api.baseUrl, 'POST', '/internal/events', {
            token: publisherToken,
            body: { id: taken, type: 'SURVEY_COMPLETED', departmentId: other, data: completedData },
          })
        ).status,
      ).toBe(202);
      const clash = await call(api.baseUrl, 'POST', '/internal/events/batch', {
        token: publisherToken,
        body: {
          events: [
            { type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData },
            { id: taken, type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData },
          ],
        },
      });
      expect(clash.status).toBe(409);
      expect(clash.body).toEqual({ status: 409, detail: expect.any(Array) });
      const noScope = await api.token([dept]);
      expect(
        (await call(api.baseUrl, 'POST', '/internal/events', { token: noScope, body: { type: 'SURVEY_COMPLETED', departmentId: dept, data: completedData } })).status,
      ).toBe(403);
      expect(await storedEvents(api, dept)).toBe(0);
      // A good one goes through right after, and alone.
      await publish(dept);
      await waitUntil('delivered', () => receiver.requests.length === 1);
      expect(await storedEvents(api, dept)).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});

async function storedEvents(api: TestApi, dept: string): Promise<number> {
  const rows: { n: string }[] = await api.db.dataSource.query(`SELECT count(*) AS n FROM events WHERE department_id = $1`, [dept]);
  return Number(rows[0].n);
}
