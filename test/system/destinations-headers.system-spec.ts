import { Webhook as StandardWebhook } from 'standardwebhooks';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { startReceiver } from '../support/receiver';
import { spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';

const data = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

/** Headers a webhook row may hold from before they were reserved: undici refuses most of them outright. */
const FORBIDDEN = { Expect: '100-continue', Upgrade: 'websocket', 'Keep-Alive': 'timeout=5', TE: 'trailers', Trailer: 'x-sum', 'Proxy-Authorization': 'Basic eDp5' };

/** The worker's JSON log lines (its stdout and stderr, as captured). */
function logLines(worker: WorkerProcess): Record<string, unknown>[] {
  return worker.output
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Issue 13 in real worker processes: stored forbidden headers, and what customers and operators see of a blocked destination. */
describe('destinations and custom headers in the delivery workers', () => {
  let stack: Stack;
  let base: Record<string, string>;
  let api: TestApi;
  let publisher: string;

  beforeAll(async () => {
    stack = await startStack('destinations');
    base = { DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl, DELIVERY_RETRY_SCHEDULE: '10s', WORKER_HTTP_PORT: '0', LOG_LEVEL: 'info' };
    // Webhooks are created through an API that allows private networks; the workers decide.
    api = await startApi({ ...base, LOG_LEVEL: 'silent', DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    publisher = await api.token(['*'], ['events:publish']);
  });
  afterAll(async () => {
    await api?.close();
    await stack?.close();
  });

  async function webhookTo(dept: string, token: string, url: string, headers: Record<string, string> = {}): Promise<{ id: string; secret: string }> {
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: 'w', url, events: ['SURVEY_COMPLETED'], headers } });
    expect(res.status).toBe(201);
    return res.body.webhooks[0];
  }

  async function publish(dept: string): Promise<void> {
    const res = await call(api.baseUrl, 'POST', '/internal/events', { token: publisher, body: { type: 'SURVEY_COMPLETED', departmentId: dept, data } });
    expect(res.status).toBe(202);
  }

  async function deliveries(dept: string, token: string, webhookId: string): Promise<{ id: string; status: string; attempts: number }[]> {
    return (await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${webhookId}/deliveries`, { token })).body.deliveries;
  }

  /** A department and a bystander beside it, each with a token. */
  async function twoDepartments() {
    const dept = uniqueDepartment();
    const other = uniqueDepartment('other');
    return { dept, other, token: await api.token([dept]), otherToken: await api.token([other]) };
  }

  it('a webhook row holding forbidden headers still delivers, without them; the worker says so once; the other department is untouched', async () => {
    const worker = await spawnWorker({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true' });
    const receiver = await startReceiver();
    try {
      const { dept, other, token, otherToken } = await twoDepartments();
      const legacy = await webhookTo(dept, token, `http://127.0.0.1:${receiver.port}/${dept}`, { 'X-Api-Key': 'k-123456' });
      const bystander = await webhookTo(other, otherToken, `http://127.0.0.1:${receiver.port}/${other}`, { 'X-Api-Key': 'other-key' });
      // Around the API, as a row written before these names were reserved.
      const row = await api.db.repos.webhooks.findInDepartment(dept, legacy.id);
      await api.db.repos.webhooks.update(dept, legacy.id, { ...row!, headers: { 'X-Api-Key': 'k-123456', ...FORBIDDEN } });

      for (const d of [dept, other, dept]) await publish(d);
      const at = (d: string) => receiver.requests.filter((r) => r.path === `/${d}`);
      await waitUntil('both departments delivered', () => at(dept).length === 2 && at(other).length === 1);
      for (const got of at(dept)) {
        expect(got.headers['x-api-key']).toBe('k-123456');
        for (const name of Object.keys(FORBIDDEN)) expect([name, got.headers[name.toLowerCase()]]).toEqual([name, undefined]);
        expect(() => new StandardWebhook(legacy.secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
      }
      expect(at(other)[0].headers['x-api-key']).toBe('other-key');
      expect(() => new StandardWebhook(bystander.secret).verify(at(other)[0].body, at(other)[0].headers as Record<string, string>)).not.toThrow();
      await waitUntil('both logged as succeeded', async () => {
        const mine = await deliveries(dept, token, legacy.id);
        const theirs = await deliveries(other, otherToken, bystander.id);
        return mine.length === 2 && [...mine, ...theirs].every((d) => d.status === 'succeeded' && d.attempts === 1) && theirs.length === 1;
      });
      await waitUntil('the attempts are in the worker log', () => logLines(worker).filter((l) => l.msg === 'delivery attempt' && l.outcome === 'success').length === 3);
      const notices = logLines(worker).filter((l) => l.msg === 'stored custom headers left out: they cannot be sent');
      expect(notices).toEqual([expect.objectContaining({ departmentId: dept, webhookId: legacy.id, droppedHeaders: Object.keys(FORBIDDEN) })]);
      // Names only: header values never reach the log.
      expect(worker.output.join('')).not.toContain('eDp5');
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });

  it("a name resolving to loopback: the delivery log says blocked_destination without the address, the worker's log line has it", async () => {
    const worker = await spawnWorker({ ...base, DELIVERY_ALLOW_PRIVATE_NETWORKS: 'false' });
    const receiver = await startReceiver();
    try {
      const { dept, other, token, otherToken } = await twoDepartments();
      const blocked = await webhookTo(dept, token, `http://localhost:${receiver.port}/${dept}`);
      const bystander = await webhookTo(other, otherToken, `http://localhost:${receiver.port}/${other}`);
      await publish(dept);
      await waitUntil('first attempt logged', async () => (await deliveries(dept, token, blocked.id))[0]?.attempts === 1);
      const [delivery] = await deliveries(dept, token, blocked.id);
      const detail = await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${blocked.id}/deliveries/${delivery.id}`, { token });
      expect(detail.body.attempts[0]).toMatchObject({ error: 'blocked_destination', errorMessage: 'The destination resolves to an address that is not allowed' });
      expect(JSON.stringify(detail.body)).not.toMatch(/127\.0\.0\.1|::1\b/);

      await waitUntil('the attempt is in the worker log', () => logLines(worker).some((l) => l.msg === 'delivery attempt' && l.deliveryId === delivery.id));
      const line = logLines(worker).find((l) => l.msg === 'delivery attempt' && l.deliveryId === delivery.id);
      expect(line).toMatchObject({
        error: 'blocked_destination',
        departmentId: dept,
        blockedReason: 'loopback',
        blockedAddress: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
      });
      expect(receiver.requests).toHaveLength(0);
      // The other department: nothing published to it, nothing attempted for it, its webhook as it was.
      expect(await deliveries(other, otherToken, bystander.id)).toEqual([]);
      expect(logLines(worker).filter((l) => l.departmentId === other)).toEqual([]);
      const list = await call(api.baseUrl, 'GET', `/department/${other}/webhook/`, { token: otherToken });
      expect(list.body.webhooks).toEqual([expect.objectContaining({ id: bystander.id, isActive: true, disabledReason: null })]);
    } finally {
      await worker.stop();
      await receiver.close();
    }
  });
});
