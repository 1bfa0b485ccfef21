import { SecretBox, secretKeyId, UnsealError } from '@pollarix/common';
import type { AppConfig } from '@pollarix/config';
import { Database, IDEMPOTENCY_SEALS, reEncryptSecrets, sealContext, webhookSealContext } from '@pollarix/database';
import { randomBytes } from 'node:crypto';
import { call, startApi, TestApi, uniqueDepartment } from './support/api-harness';
import { cli, requireBuiltCli } from './support/cli';
import { createScratchDatabase, runMigrations } from './support/infra';
import { legacySeal } from './support/legacy-seal';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
/** The CLI's newest key, from its test on. */
const keyC = randomBytes(32);

/** The repositories under a key ring, on the API's pool (what a process restarted with that SECRETS_ENCRYPTION_KEY reads). */
function under(api: TestApi, ...keys: Buffer[]): Database {
  const config: Pick<AppConfig, 'secretsEncryptionKeys'> = { secretsEncryptionKeys: keys };
  return new Database(api.db.dataSource, config as AppConfig);
}

interface Hook {
  dept: string;
  token: string;
  id: string;
  secret: string;
  headers: Record<string, string>;
}

/**
 * Key rotation for values at rest: ciphertexts carry their key's id and are bound to their row and column;
 * `reEncryptSecrets` (the `secrets re-encrypt` command) moves every value to the newest key, beside a
 * service that keeps writing, without overwriting what it writes.
 */
describe('secrets at rest under a key ring', () => {
  let api: TestApi;
  let scratch: { url: string; drop(): Promise<void> };

  // A database of its own: the re-encryption walks every row, and other files' rows are sealed under the suite's key.
  beforeAll(async () => {
    scratch = await createScratchDatabase('keys');
    await runMigrations(scratch.url);
    api = await startApi({ DATABASE_URL: scratch.url, SECRETS_ENCRYPTION_KEY: keyA.toString('hex') });
  });
  afterAll(async () => {
    await api?.close();
    await scratch?.drop();
  });

  async function createHook(dept: string, token: string, idempotencyKey?: string): Promise<Hook> {
    const headers = { Authorization: `Bearer ${randomBytes(8).toString('hex')}` };
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, {
      token,
      body: { name: 'w', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'], headers },
      headers: idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    });
    expect(res.status).toBe(201);
    const id = res.body.webhooks[0].id;
    const secret = (await call(api.baseUrl, 'GET', `/department/${dept}/webhook/${id}/secret`, { token })).body.secret;
    return { dept, token, id, secret, headers };
  }

  async function tenant(count: number): Promise<Hook[]> {
    const dept = uniqueDepartment('keys');
    const token = await api.token([dept]);
    const hooks: Hook[] = [];
    for (let i = 0; i < count; i++) hooks.push(await createHook(dept, token));
    return hooks;
  }

  const sealedRow = async (id: string) =>
    (await api.db.dataSource.query(`SELECT headers_sealed, secret_sealed, previous_secret_sealed, updated_at FROM webhooks WHERE id = $1`, [id]))[0] as {
      headers_sealed: string;
      secret_sealed: string;
      previous_secret_sealed: string | null;
      updated_at: Date;
    };

  /** What a webhook reads as under `db`: its headers and signing secrets. */
  async function readBack(db: Database, hook: Hook) {
    const webhook = await db.repos.webhooks.findInDepartment(hook.dept, hook.id);
    return { headers: webhook?.headers, secrets: await db.repos.webhooks.getSigningSecrets(hook.dept, hook.id) };
  }

  it('seals new values under the newest key, bound to their row and column', async () => {
    const [one, two] = await tenant(2);
    const row = await sealedRow(one.id);
    for (const value of [row.headers_sealed, row.secret_sealed]) expect(value.split('.').slice(0, 2)).toEqual(['v2', secretKeyId(keyA)]);
    expect(row.secret_sealed).not.toContain(one.secret.slice(6, 20));

    // Another webhook's secret copied into this row, or this row's headers into its secret column: neither opens.
    await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = $1 WHERE id = $2`, [(await sealedRow(two.id)).secret_sealed, one.id]);
    await expect(api.db.repos.webhooks.getSigningSecrets(one.dept, one.id)).rejects.toThrow(UnsealError);
    await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = $1 WHERE id = $2`, [row.headers_sealed, one.id]);
    await expect(api.db.repos.webhooks.getSigningSecrets(one.dept, one.id)).rejects.toThrow(UnsealError);
    // The other webhook noticed nothing; put back, the row opens again.
    expect(await readBack(api.db, two)).toEqual({ headers: two.headers, secrets: { current: two.secret, previous: null } });
    await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = $1 WHERE id = $2`, [row.secret_sealed, one.id]);
    expect(await readBack(api.db, one)).toEqual({ headers: one.headers, secrets: { current: one.secret, previous: null } });
  });

  it('rotating a signing secret seals the old one again for its own column', async () => {
    const [hook, bystander] = await tenant(2);
    const rotated = await call(api.baseUrl, 'POST', `/department/${hook.dept}/webhook/${hook.id}/secret/rotate`, { token: hook.token });
    expect(rotated.status).toBe(200);
    expect(await api.db.repos.webhooks.getSigningSecrets(hook.dept, hook.id)).toEqual({ current: rotated.body.secret, previous: hook.secret });
    const row = await sealedRow(hook.id);
    expect(row.previous_secret_sealed).not.toBe(row.secret_sealed);
    expect(await readBack(api.db, bystander)).toEqual({ headers: bystander.headers, secrets: { current: bystander.secret, previous: null } });
  });

  it('re-encrypts every value (new, rotated, idempotent responses, values sealed before key ids) under the newest key; the old key can then go', async () => {
    const [first, second] = [await tenant(3), await tenant(2)];
    const hooks = [...first, ...second];
    // An idempotent create: its stored response (which holds the secret) is sealed too.
    const idempotencyKey = `idem-${randomBytes(4).toString('hex')}`;
    hooks.push(await createHook(first[0].dept, first[0].token, idempotencyKey));
    // More of them, in both departments, so that their walk takes several pages too.
    for (const d of [first[0], second[0], second[0]]) hooks.push(await createHook(d.dept, d.token, `idem-${randomBytes(4).toString('hex')}`));
    // A rotation: a previous secret overlapping.
    const rotated = await call(api.baseUrl, 'POST', `/department/${second[0].dept}/webhook/${second[0].id}/secret/rotate`, { token: second[0].token });
    const expected = new Map(hooks.map((h) => [h.id, { headers: h.headers, secrets: { current: h.secret, previous: null as string | null } }]));
    expected.set(second[0].id, { headers: second[0].headers, secrets: { current: rotated.body.secret, previous: second[0].secret } });
    // A webhook as the code before this change stored it: v1, no key id, no associated data.
    const legacy = first[1];
    await api.db.dataSource.query(`UPDATE webhooks SET headers_sealed = $1, secret_sealed = $2 WHERE id = $3`, [
      legacySeal(keyA, JSON.stringify(legacy.headers)),
      legacySeal(keyA, legacy.secret),
      legacy.id,
    ]);
    const updatedAt = new Map(await Promise.all(hooks.map(async (h) => [h.id, (await sealedRow(h.id)).updated_at] as const)));

    const ring = under(api, keyB, keyA);
    for (const hook of hooks) expect(await readBack(ring, hook)).toEqual(expected.get(hook.id));

    const progress: number[] = [];
    const result = await reEncryptSecrets(api.db.dataSource.manager, new SecretBox([keyB, keyA]), {
      pageSize: 2,
      progress: { start: (total) => progress.push(total), update: (done) => progress.push(done) },
    });
    expect(result.unreadable).toEqual([]);
    expect(result.busy).toBe(0);
    expect(result.reEncrypted).toBeGreaterThanOrEqual(hooks.length + 4);
    expect(progress.at(-1)).toBe(result.rows);

    // Only key B now: every value opens, unchanged, and updated_at is untouched (nothing the customer sees changed).
    const onlyB = under(api, keyB);
    for (const hook of hooks) {
      expect(await readBack(onlyB, hook)).toEqual(expected.get(hook.id));
      const row = await sealedRow(hook.id);
      expect(row.updated_at).toEqual(updatedAt.get(hook.id));
      for (const value of [row.headers_sealed, row.secret_sealed, row.previous_secret_sealed].filter((v) => v !== null)) {
        expect(value.split('.').slice(0, 2)).toEqual(['v2', secretKeyId(keyB)]);
      }
    }
    const replay = await onlyB.repos.idempotency.find(first[0].dept, idempotencyKey);
    expect(JSON.stringify(replay?.body)).toContain(hooks[first.length + second.length].id);
    const responses: { response_sealed: string }[] = await api.db.dataSource.query(`SELECT response_sealed FROM idempotency_keys`);
    expect(responses.map((r) => r.response_sealed.split('.')[1])).toEqual(responses.map(() => secretKeyId(keyB)));
    expect(responses.length).toBeGreaterThanOrEqual(4);

    // Rerunnable: nothing left to do.
    const again = await reEncryptSecrets(api.db.dataSource.manager, new SecretBox([keyB, keyA]));
    expect({ reEncrypted: again.reEncrypted, current: again.current, unreadable: again.unreadable }).toEqual({
      reEncrypted: 0,
      current: again.rows,
      unreadable: [],
    });
  });

  it('never overwrites a secret rotation that lands between its read and its write (compare-and-set), and reports rows no key opens', async () => {
    const [hook, bystander] = await tenant(2);
    const [other] = await tenant(1);
    let rotatedSecret: string | undefined;
    // The service (still sealing with key A, as during a rolling restart) rotates the secret just before the re-encryption's write.
    const manager = new Proxy(api.db.dataSource.manager, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return async (sql: string, parameters?: unknown[]) => {
          if (!rotatedSecret && sql.startsWith('UPDATE webhooks') && parameters?.[0] === hook.id) {
            const res = await call(api.baseUrl, 'POST', `/department/${hook.dept}/webhook/${hook.id}/secret/rotate`, { token: hook.token });
            rotatedSecret = res.body.secret as string;
          }
          return target.query(sql, parameters);
        };
      },
    });
    // A row sealed under a key that is in neither ring: it cannot be re-encrypted, and is named.
    const lost = new SecretBox(randomBytes(32)).seal('whsec_lost', webhookSealContext(other.id, 'secret_sealed'));
    await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = $1 WHERE id = $2`, [lost, other.id]);

    const result = await reEncryptSecrets(manager, new SecretBox([keyB, keyA]));
    expect(rotatedSecret).toBeDefined();
    expect(result.unreadable).toEqual([`webhooks ${other.id}`]);
    expect(result.busy).toBe(0);

    const onlyB = under(api, keyB);
    expect(await readBack(onlyB, hook)).toEqual({ headers: hook.headers, secrets: { current: rotatedSecret, previous: hook.secret } });
    expect(await readBack(onlyB, bystander)).toEqual({ headers: bystander.headers, secrets: { current: bystander.secret, previous: null } });
    // The unreadable row fails alone: the worker's batch load gives it its error, its neighbours their targets.
    const loads = await onlyB.repos.webhooks.findTargets([hook.id, other.id, bystander.id]);
    expect(loads.get(other.id)?.error).toMatch(/key ring no longer lists/);
    expect(loads.get(hook.id)?.target?.secret).toBe(rotatedSecret);
    expect(loads.get(bystander.id)?.target?.secret).toBe(bystander.secret);

    // Rotating the unreadable secret heals it: no previous secret to overlap with (it cannot be opened), the new one signs.
    const healed = await call(api.baseUrl, 'POST', `/department/${other.dept}/webhook/${other.id}/secret/rotate`, { token: other.token });
    expect(healed.status).toBe(200);
    expect(await readBack(api.db, other)).toEqual({ headers: other.headers, secrets: { current: healed.body.secret, previous: null } });
  });

  it('secrets re-encrypt (the CLI) prints its counts, and names the rows no listed key opens with exit code 1', async () => {
    requireBuiltCli();
    const [hook] = await tenant(1);
    const [gone] = await tenant(1);
    const lost = new SecretBox(randomBytes(32)).seal('whsec_lost', webhookSealContext(gone.id, 'secret_sealed'));
    await api.db.dataSource.query(`UPDATE webhooks SET secret_sealed = $1 WHERE id = $2`, [lost, gone.id]);
    const run = () => cli(['secrets', 're-encrypt'], { DATABASE_URL: scratch.url, SECRETS_ENCRYPTION_KEY: [keyC, keyB, keyA].map((k) => k.toString('hex')).join(',') });

    const first = await run();
    expect(first.code).toBe(1);
    expect(first.stderr).toContain(`Sealing under key ${secretKeyId(keyC)}`);
    expect(first.stderr).toContain(`error: no key of SECRETS_ENCRYPTION_KEY opens 1 row(s)`);
    expect(first.stderr).toContain(`webhooks ${gone.id}`);
    const counts = /^Re-encrypted (\d+) of (\d+) rows; (\d+) already under the newest key; 0 changed by the service on every try \(run again\); 1 unreadable\n$/.exec(
      first.stdout,
    );
    expect(counts).not.toBeNull();
    expect(Number(counts![1])).toBeGreaterThan(0);
    expect(await readBack(under(api, keyC), hook)).toEqual({ headers: hook.headers, secrets: { current: hook.secret, previous: null } });

    // Once the row is healed (its secret rotated), a rerun has nothing left to do and exits 0.
    await call(api.baseUrl, 'POST', `/department/${gone.dept}/webhook/${gone.id}/secret/rotate`, { token: gone.token });
    const second = await run();
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /^Re-encrypted 1 of \d+ rows; \d+ already under the newest key; 0 changed by the service on every try \(run again\); 0 unreadable\n$/,
    );

    // A ring that is not one: one line naming the variable, exit 2, nothing written.
    const bad = await cli(['secrets', 're-encrypt'], { DATABASE_URL: scratch.url, SECRETS_ENCRYPTION_KEY: `${keyC.toString('hex')},${keyC.toString('hex')}` });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^Invalid configuration: SECRETS_ENCRYPTION_KEY must be 32-byte keys .*\(got 129 characters\)$/),
    ]);
  });

  it('leaves values the service no longer reads as they are: an expired idempotent response and an ended secret overlap, under a key no longer listed, do not fail the CLI', async () => {
    requireBuiltCli();
    const [hook] = await tenant(1);
    const [other] = await tenant(1);
    // The second department: a live idempotent response, to be re-encrypted with its webhooks.
    const liveKey = `idem-${randomBytes(4).toString('hex')}`;
    const replayed = await createHook(other.dept, other.token, liveKey);
    const lostBox = new SecretBox(randomBytes(32));
    // An idempotent response past its 24 h, and a previous secret whose overlap ended, both sealed under a key no ring lists.
    const staleKey = `idem-${randomBytes(4).toString('hex')}`;
    const staleResponse = lostBox.seal('{}', sealContext(IDEMPOTENCY_SEALS, [hook.dept, staleKey], 'response_sealed'));
    await api.db.dataSource.query(
      `INSERT INTO idempotency_keys (department_id, key, request_hash, response_status, response_sealed, created_at) VALUES ($1, $2, $3, 201, $4, now() - interval '25 hours')`,
      [hook.dept, staleKey, 'a'.repeat(64), staleResponse],
    );
    const endedSecret = lostBox.seal('whsec_ended', webhookSealContext(hook.id, 'previous_secret_sealed'));
    await api.db.dataSource.query(`UPDATE webhooks SET previous_secret_sealed = $1, previous_secret_expires_at = now() - interval '1 minute' WHERE id = $2`, [
      endedSecret,
      hook.id,
    ]);

    const run = await cli(['secrets', 're-encrypt'], {
      DATABASE_URL: scratch.url,
      SECRETS_ENCRYPTION_KEY: [keyC, keyB, keyA].map((k) => k.toString('hex')).join(','),
    });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.not.stringContaining('error') });
    // Re-encrypted: both webhooks (one of them with its ended overlap left alone) and the live response; the expired response is left.
    expect(run.stdout).toMatch(
      /^Re-encrypted 4 of \d+ rows; \d+ already under the newest key; 0 changed by the service on every try \(run again\); 0 unreadable; 1 expired \(no longer read\), left as they are\n$/,
    );

    const onlyC = under(api, keyC);
    expect(await readBack(onlyC, hook)).toEqual({ headers: hook.headers, secrets: { current: hook.secret, previous: null } });
    for (const h of [other, replayed]) expect(await readBack(onlyC, h)).toEqual({ headers: h.headers, secrets: { current: h.secret, previous: null } });
    expect(JSON.stringify((await onlyC.repos.idempotency.find(other.dept, liveKey))?.body)).toContain(replayed.id);
    // The values no longer read are as they were.
    expect((await sealedRow(hook.id)).previous_secret_sealed).toBe(endedSecret);
    const [stale] = await api.db.dataSource.query(`SELECT response_sealed FROM idempotency_keys WHERE department_id = $1 AND key = $2`, [hook.dept, staleKey]);
    expect(stale.response_sealed).toBe(staleResponse);
  });
});
