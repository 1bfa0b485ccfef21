import { cli, requireBuiltCli, ROOT } from './support/cli';
import { freePort, isListening, relocatedDataDir } from '@pollarix/devinfra';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { call, startApi } from './support/api-harness';
import { uniqueName } from './support/infra';
import { waitUntil } from './support/system';

const SECRET = /^plx_[A-Za-z0-9_-]{43}$/;

const lastLine = (text: string) => text.trimEnd().split('\n').pop() ?? '';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('CLI (built: dist/apps/cli/main.js)', () => {
  let db: Client;

  beforeAll(async () => {
    requireBuiltCli();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });

  afterAll(() => db?.end());

  const tokenRow = async (id: string) => (await db.query('SELECT id, name, token_hash, departments, scopes, revoked_at FROM api_tokens WHERE id = $1', [id])).rows[0];

  describe('token create', () => {
    it('prints the secret alone on the last stdout line and stores only its SHA-256', async () => {
      const department = uniqueName('dept_cli');
      const result = await cli(['token', 'create', '--department', `${department},dept_other`, '--scopes', 'webhooks:read,events:publish', '--name', 'cli test']);
      expect(result).toMatchObject({ code: 0 });
      const secret = lastLine(result.stdout);
      expect(secret).toMatch(SECRET);

      const { rows } = await db.query('SELECT id, token_hash, departments, scopes, name FROM api_tokens WHERE $1 = ANY(departments)', [department]);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ departments: [department, 'dept_other'], scopes: ['webhooks:read', 'events:publish'], name: 'cli test' });
      expect(rows[0].token_hash).not.toBe(secret);
      expect(rows[0].token_hash).toBe(sha256(secret));
      expect(result.stderr).toContain(rows[0].id);
      const stored = await db.query(`SELECT count(*)::int AS n FROM api_tokens WHERE row_to_json(api_tokens)::text LIKE '%' || $1 || '%'`, [secret.slice(4)]);
      expect(stored.rows[0].n).toBe(0);
    });

    it("makes a platform token with --department '*' and the default scopes", async () => {
      const name = uniqueName('platform');
      const result = await cli(['token', 'create', '--department', '*', '--name', name]);
      expect(result.code).toBe(0);
      expect(lastLine(result.stdout)).toMatch(SECRET);
      const { rows } = await db.query('SELECT departments, scopes FROM api_tokens WHERE name = $1', [name]);
      expect(rows).toEqual([{ departments: ['*'], scopes: ['webhooks:read', 'webhooks:write'] }]);
    });

    it('refuses an unknown scope with a clear message and stores nothing', async () => {
      const name = uniqueName('bad_scope');
      const result = await cli(['token', 'create', '--department', 'dept_x', '--scopes', 'webhooks:read,webhooks:destroy', '--name', name]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/unknown scope "webhooks:destroy"/);
      expect(result.stdout).not.toMatch(/plx_/);
      const { rows } = await db.query('SELECT id FROM api_tokens WHERE name = $1', [name]);
      expect(rows).toEqual([]);
    });

    it('refuses a missing --department', async () => {
      const result = await cli(['token', 'create']);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/--department/);
    });
  });

  describe('token list and revoke', () => {
    let id: string;
    let secret: string;
    const name = uniqueName('listed');

    beforeAll(async () => {
      const created = await cli(['token', 'create', '--department', 'dept_list', '--name', name]);
      expect(created.code).toBe(0);
      secret = lastLine(created.stdout);
      id = (await db.query('SELECT id FROM api_tokens WHERE name = $1', [name])).rows[0].id;
    });

    it('lists tokens without their secrets', async () => {
      const table = await cli(['token', 'list']);
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/ID\s+NAME\s+DEPARTMENTS\s+SCOPES\s+CREATED\s+REVOKED/);
      expect(table.stdout).toContain(id);
      expect(table.stdout + table.stderr).not.toContain(secret);
      expect(table.stdout).not.toContain(sha256(secret));

      const json = await cli(['token', 'list', '--json']);
      expect(json.code).toBe(0);
      const tokens = json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const mine = tokens.find((token) => token.id === id);
      expect(mine).toEqual({ id, name, departments: ['dept_list'], scopes: ['webhooks:read', 'webhooks:write'], created: expect.any(String), revoked: null });
      expect(json.stdout).not.toContain(secret.slice(4));
      expect(json.stdout).not.toContain(sha256(secret));
    });

    it('revokes a token', async () => {
      const result = await cli(['token', 'revoke', id]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Revoked token ${id}`);
      expect((await tokenRow(id)).revoked_at).toBeInstanceOf(Date);

      const again = await cli(['token', 'revoke', id]);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/already revoked/);
    });

    it('exits 1 with a clear message for an unknown token', async () => {
      const result = await cli(['token', 'revoke', 'tok_doesnotexist']);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('error: token "tok_doesnotexist" not found (see `token list`)');
    });
  });

  it('token revoke takes effect at once in a running API that had the token cached', async () => {
    const api = await startApi();
    try {
      const dept = uniqueName('dept');
      const created = await cli(['token', 'create', '--department', dept]);
      const secret = lastLine(created.stdout);
      const tokenId = /Created token (tok_\w+)/.exec(created.stderr)![1];
      const list = () => call(api.baseUrl, 'GET', `/department/${dept}/webhook/`, { token: secret });
      expect((await list()).status).toBe(200);
      const revoked = await cli(['token', 'revoke', tokenId]);
      expect(revoked.code).toBe(0);
      expect(revoked.stderr).not.toMatch(/warning/);
      // The announcement is asynchronous but immediate: far below the 10 s cache TTL.
      await waitUntil('the revoked token is refused (401)', async () => (await list()).status === 401, 2_000, 20);
    } finally {
      await api.close();
    }
  });

  it('stops with exit code 2 and one line naming a bad variable', async () => {
    const result = await cli(['token', 'list'], { PORT: 'abc' });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Invalid configuration: PORT .*"abc"/);
    expect(result.stdout).toBe('');
  });

  it('brings up the local PostgreSQL itself when DATABASE_URL is unset, and stops it afterwards', async () => {
    const port = await freePort();
    const dataDir = join(ROOT, '.data', 'test', `cli-local-${process.pid}`);
    try {
      const env = { DATABASE_URL: undefined, DATA_DIR: dataDir, DEV_POSTGRES_PORT: String(port) };
      const created = await cli(['token', 'create', '--department', 'dept_local'], env);
      expect(created.code).toBe(0);
      expect(created.stderr).toContain(`Started local PostgreSQL on port ${port}`);
      expect(lastLine(created.stdout)).toMatch(SECRET);
      expect(await isListening(port)).toBe(false);

      const listed = await cli(['token', 'list', '--json'], env);
      expect(listed.code).toBe(0);
      expect(listed.stdout.trim().split('\n')).toHaveLength(1);
      expect(await isListening(port)).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      // As root in a clone the postgres user cannot enter, the cluster lived outside it.
      rmSync(dirname(relocatedDataDir(join(dataDir, 'postgres'))), { recursive: true, force: true });
    }
  });
});
