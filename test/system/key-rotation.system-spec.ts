import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import { call, startApi, TestApi, uniqueDepartment } from '../support/api-harness';
import { cli, requireBuiltCli } from '../support/cli';
import { Receiver, ReceivedRequest, startReceiver } from '../support/receiver';
import { ApiProcess, fastRecoveryEnv, spawnApi, spawnWorker, Stack, startStack, waitUntil, WorkerProcess } from '../support/system';
import { completedData } from '../support/tenants';

const keyA = randomBytes(32).toString('hex');
const keyB = randomBytes(32).toString('hex');

interface Hook {
  id: string;
  receiver: Receiver;
  /** Every signing secret it has had (a rotation adds one). */
  secrets: string[];
}

interface Department {
  dept: string;
  token: string;
  hooks: Hook[];
  published: number;
}

/** Checked by the standardwebhooks reference verifier (one of the request's signatures is made with the secret). */
function signedWith(request: ReceivedRequest, secret: string): boolean {
  const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]));
  try {
    new Webhook(secret).verify(request.body, headers);
    return true;
  } catch {
    return false;
  }
}

/**
 * Rotating SECRETS_ENCRYPTION_KEY with the service up, as the README's procedure says: API and worker
 * processes sealing under key A; rolling restarts onto the ring "A,B" (B known everywhere), then "B,A";
 * `secrets re-encrypt` while events are published and delivered; a rolling restart onto B alone. Two departments deliver throughout, every
 * request signed with its webhook's secret. A row left under A (as a restore from an old backup would)
 * fails only its own deliveries once A is gone; the API shows it with its headers flagged, and the
 * customer heals it by setting its headers again and rotating its secret.
 */
describe('key rotation for secrets at rest, with the service up', () => {
  let stack: Stack;
  let tokens: TestApi;
  let pg: Client;
  let api: ApiProcess | undefined;
  let worker: WorkerProcess | undefined;
  let publisher: string;
  const receivers: Receiver[] = [];

  const env = (ring: string) => ({ ...fastRecoveryEnv(stack), SECRETS_ENCRYPTION_KEY: ring, HOST: '127.0.0.1' });

  /** A rolling restart onto `ring`: the new API and worker start before the old ones stop. */
  async function restartOnto(ring: string): Promise<void> {
    const next = await spawnApi(env(ring));
    const nextWorker = await spawnWorker(env(ring));
    await api?.stop();
    await worker?.stop();
    api = next;
    worker = nextWorker;
  }

  beforeAll(async () => {
    requireBuiltCli();
    stack = await startStack('key-rotation');
    // In-process only to mint API tokens (stored as hashes: no key involved); never asked about webhooks.
    tokens = await startApi({ DATABASE_URL: stack.databaseUrl, REDIS_URL: stack.redisUrl });
    publisher = await tokens.token(['*'], ['events:publish']);
    pg = new Client({ connectionString: stack.databaseUrl });
    await pg.connect();
  });
  afterAll(async () => {
    await api?.stop();
    await worker?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await pg?.end();
    await tokens?.close();
    await stack?.close();
  });

  async function department(webhooks: number): Promise<Department> {
    const dept = uniqueDepartment('keys');
    const token = await tokens.token([dept]);
    const hooks: Hook[] = [];
    for (let i = 0; i < webhooks; i++) {
      const receiver = await startReceiver();
      receivers.push(receiver);
      const res = await call(api!.url, 'POST', `/department/${dept}/webhook/`, {
        token,
        body: { name: `w${i}`, url: receiver.url, events: ['SURVEY_COMPLETED'], headers: { 'X-Tenant': dept } },
      });
      expect(res.status).toBe(201);
      const id = res.body.webhooks[0].id as string;
      const secret = (await call(api!.url, 'GET', `/department/${dept}/webhook/${id}/secret`, { token })).body.secret as string;
      hooks.push({ id, receiver, secrets: [secret] });
    }
    return { dept, token, hooks, published: 0 };
  }

  async function publish(departments: Department[], each: number): Promise<void> {
    const events = departments.flatMap((d) => Array.from({ length: each }, () => ({ type: 'SURVEY_COMPLETED', departmentId: d.dept, data: completedData })));
    const res = await call(api!.url, 'POST', '/internal/events/batch', { token: publisher, body: { events } });
    expect(res.status).toBe(202);
    for (const d of departments) d.published += each;
  }

  const succeeded = async (webhookId: string): Promise<number> =>
    Number((await pg.query(`SELECT count(*) AS n FROM deliveries WHERE webhook_id = $1 AND status = 'succeeded'`, [webhookId])).rows[0].n);

  /** Every webhook got each of its department's events once, each request signed with one of the webhook's secrets. */
  async function expectAllDelivered(departments: Department[], except: Hook[] = []): Promise<void> {
    const hooks = departments.flatMap((d) => d.hooks.filter((h) => !except.includes(h)).map((hook) => ({ hook, expected: d.published })));
    // Bound: a few hundred small deliveries to loopback; 60 s leaves room for a noisy machine.
    const allDelivered = async () => {
      // One at a time: one pg client.
      for (const { hook, expected } of hooks) if ((await succeeded(hook.id)) !== expected) return false;
      return true;
    };
    await waitUntil('every webhook delivered every event', allDelivered, 60_000);
    for (const { hook, expected } of hooks) {
      expect(new Set(hook.receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(expected);
      expect(hook.receiver.requests.filter((r) => !hook.secrets.some((secret) => signedWith(r, secret)))).toEqual([]);
      expect(hook.receiver.requests.every((r) => r.headers['x-tenant'] !== undefined)).toBe(true);
    }
  }

  it('rotates from key A to key B: every webhook of both departments keeps delivering, signed with its secret', async () => {
    await restartOnto(keyA);
    const [first, second] = [await department(3), await department(2)];
    const leftBehind = first.hooks[2];
    await publish([first, second], 10);
    await expectAllDelivered([first, second]);

    // 1. Every process learns B ("A,B": A still seals), so that none meets a value it cannot open when B starts sealing.
    await restartOnto(`${keyA},${keyB}`);
    await publish([first, second], 5);
    // 2. Every process onto "B,A": B seals from now on, A still opens.
    await restartOnto(`${keyB},${keyA}`);
    await publish([first, second], 10);
    const rotated = await call(api!.url, 'POST', `/department/${second.dept}/webhook/${second.hooks[0].id}/secret/rotate`, { token: second.token });
    expect(rotated.status).toBe(200);
    second.hooks[0].secrets.push(rotated.body.secret as string);
    // As a backup taken now would hold it: the row under A (a restore of it is what removing A breaks).
    const [underA] = (await pg.query(`SELECT headers_sealed, secret_sealed FROM webhooks WHERE id = $1`, [leftBehind.id])).rows;

    // 3. Re-encrypt while events are published and delivered.
    const reEncrypting = cli(['secrets', 're-encrypt', '--page-size', '2'], { DATABASE_URL: stack.databaseUrl, SECRETS_ENCRYPTION_KEY: `${keyB},${keyA}` });
    let done = false;
    void reEncrypting.finally(() => (done = true));
    for (let i = 0; i < 20 && !done; i++) await publish([first, second], 2);
    const result = await reEncrypting;
    expect(result.stderr).toMatch(/Re-encrypted: \d+\/\d+/);
    expect({ code: result.code, stdout: result.stdout }).toEqual({
      code: 0,
      stdout: expect.stringMatching(
        /^Re-encrypted \d+ of \d+ rows; \d+ already under the newest key; 0 changed by the service on every try \(run again\); 0 unreadable\n$/,
      ),
    });
    const still = await pg.query(`SELECT count(*) AS n FROM webhooks WHERE secret_sealed NOT LIKE 'v2.%' OR headers_sealed NOT LIKE 'v2.%'`);
    expect(Number(still.rows[0].n)).toBe(0);
    await expectAllDelivered([first, second]);

    // The backup's row put back: under A, which is about to go.
    await pg.query(`UPDATE webhooks SET headers_sealed = $1, secret_sealed = $2 WHERE id = $3`, [underA.headers_sealed, underA.secret_sealed, leftBehind.id]);
    const before = leftBehind.receiver.requests.length;

    // 4. Every process onto B alone.
    await restartOnto(keyB);
    await publish([first, second], 10);
    await expectAllDelivered([first, second], [leftBehind]);
    // The rotated webhook now signs with both its secrets; its latest requests verify with the new one.
    expect(signedWith(second.hooks[0].receiver.requests.at(-1)!, second.hooks[0].secrets[1])).toBe(true);
    // And the check tells secrets apart: another webhook's secret does not verify.
    expect(signedWith(first.hooks[0].receiver.requests.at(-1)!, second.hooks[1].secrets[0])).toBe(false);

    // The row still under A fails its own deliveries (undecryptable), sending nothing; the rest went out above.
    const failed = async () =>
      (
        await pg.query(
          `SELECT count(*) FILTER (WHERE d.status = 'failed') AS failed,
                  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.error = 'undecryptable')) AS undecryptable
             FROM deliveries d WHERE d.webhook_id = $1 AND d.status <> 'succeeded'`,
          [leftBehind.id],
        )
      ).rows[0] as { failed: string; undecryptable: string };
    await waitUntil('the left-behind webhook’s 10 latest deliveries failed', async () => Number((await failed()).failed) === 10, 60_000);
    expect(Number((await failed()).undecryptable)).toBe(10);
    expect(leftBehind.receiver.requests).toHaveLength(before);

    // The API still shows the department: the left-behind webhook with empty headers and why, the others whole.
    const path = `/department/${first.dept}/webhook`;
    const listed = await call(api!.url, 'GET', `${path}/`, { token: first.token });
    expect(listed.status).toBe(200);
    const shown = new Map((listed.body.webhooks as { id: string }[]).map((w) => [w.id, w]));
    const unreadable = { headers: {}, headersError: expect.stringMatching(/key this service no longer has.*PUT/) };
    expect(shown.get(leftBehind.id)).toMatchObject(unreadable);
    for (const hook of first.hooks.filter((h) => h !== leftBehind)) {
      expect(shown.get(hook.id)).toMatchObject({ headers: { 'X-Tenant': first.dept } });
      expect(shown.get(hook.id)).not.toHaveProperty('headersError');
    }
    expect((await call(api!.url, 'GET', `${path}/${leftBehind.id}`, { token: first.token })).body.webhooks[0]).toMatchObject(unreadable);
    // Its secret and a test send as it answer 409 with the remedy, not 500; the other department's reads are untouched.
    const secret = await call(api!.url, 'GET', `${path}/${leftBehind.id}/secret`, { token: first.token });
    expect({ status: secret.status, msg: secret.body.detail?.[0]?.msg }).toEqual({ status: 409, msg: expect.stringMatching(/rotate it/) });
    const testSend = await call(api!.url, 'POST', `${path}/test-send`, { token: first.token, body: { url: leftBehind.receiver.url, webhookId: leftBehind.id } });
    expect(testSend.status).toBe(409);
    expect((await call(api!.url, 'GET', `/department/${second.dept}/webhook/`, { token: second.token })).status).toBe(200);

    // Healed by the customer: headers set again and the secret rotated; its next events go out signed with the new secret.
    const put = await call(api!.url, 'PUT', `${path}/${leftBehind.id}`, {
      token: first.token,
      body: { name: 'w2', url: leftBehind.receiver.url, events: ['SURVEY_COMPLETED'], headers: { 'X-Tenant': first.dept } },
    });
    expect(put.status).toBe(200);
    expect(put.body.webhooks[0]).not.toHaveProperty('headersError');
    const healed = await call(api!.url, 'POST', `${path}/${leftBehind.id}/secret/rotate`, { token: first.token });
    expect(healed.status).toBe(200);
    await publish([first], 2);
    await waitUntil('the healed webhook received its 2 new events', async () => leftBehind.receiver.requests.length === before + 2, 60_000);
    expect(leftBehind.receiver.requests.slice(before).every((r) => signedWith(r, healed.body.secret as string) && r.headers['x-tenant'] === first.dept)).toBe(true);
  });
});
