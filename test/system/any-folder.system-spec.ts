import type { JsonResponse } from '../support/api-harness';
import { freePort, isListening, isProcessAlive, relocatedDataDir, waitFor } from '@pollarix/devinfra';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../support/infra';
import { waitUntil } from '../support/system';

/**
 * SPEC §3 from a newcomer's seat: a clone of this repository under a fresh `mktemp -d` folder (mode
 * 0700, as root's home is) runs `npm start`, and two clones side by side keep separate data. The clone
 * is of the committed HEAD; node_modules is hard-linked and dist/ copied from this checkout so that
 * `npm start` neither installs nor builds (its up-to-date checks compare times, and the copies are newer).
 */

const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 45_000;

interface Clone {
  root: string;
  dir: string;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  baseUrl: string;
  token: string;
  /** The printed operator token (admin over every department), for the queue dashboard. */
  operatorToken: string;
  postgresPort: number;
  redisPort: number;
}

const clones: Clone[] = [];
const running: Started[] = [];

function makeClone(): Clone {
  const root = mkdtempSync(join(tmpdir(), 'pollarix-clone-'));
  expect(statSync(root).mode & 0o777).toBe(0o700);
  const dir = join(root, 'p');
  execFileSync('git', ['clone', '-q', REPO_ROOT, dir], { stdio: 'ignore' });
  execFileSync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules')]);
  cpSync(join(REPO_ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  const now = new Date();
  utimesSync(join(dir, 'node_modules'), now, now);
  const clone = { root, dir };
  clones.push(clone);
  return clone;
}

/** The environment of a newcomer's shell: none of the test run's connections or data folder. */
function newcomerEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|DATABASE_URL|REDIS_URL|DATA_DIR|DEV_|SECRETS_ENCRYPTION_KEY|NODE_ENV|DELIVERY_|TEST_)/.test(name)) continue;
    env[name] = value;
  }
  return { ...env, PORT: String(port), HOST: '127.0.0.1', WORKER_HTTP_PORT: '0', API_METRICS_PORT: '0', LOG_LEVEL: 'warn' };
}

async function npmStart(clone: Clone): Promise<Started> {
  const port = await freePort();
  const child = spawn('npm', ['start'], { cwd: clone.dir, env: newcomerEnv(port), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const started: Partial<Started> = { child, output: () => text };
  running.push(started as Started);
  await waitUntil(
    'npm start printed a token',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`npm start exited early:\n${text}`);
      return /API token\s+(plx_\S+)/.test(text);
    },
    START_TIMEOUT_MS,
    200,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${text}`);
  });
  const portOf = (name: string) => Number(new RegExp(`(?:Started local|Reusing this clone's) ${name} (?:already running )?on port (\\d+)`).exec(text)?.[1]);
  return Object.assign(started, {
    baseUrl: `http://127.0.0.1:${port}`,
    token: /API token\s+(plx_\S+)/.exec(text)![1],
    operatorToken: /Admin token\s+(plx_\S+)/.exec(text)![1],
    postgresPort: portOf('PostgreSQL'),
    redisPort: portOf('Redis'),
  }) as Started;
}

/**
 * SIGINT to npm start's process group (as Ctrl-C does), SIGKILL if it has not exited in time. Resolves
 * with how npm ended: exit code 0, or the SIGINT it got (npm itself ends by the signal, as in a terminal).
 */
async function stop(started: Started): Promise<string> {
  const { child } = started;
  const outcome = () => child.signalCode ?? `exit code ${child.exitCode}`;
  if (child.exitCode !== null || child.signalCode !== null) return outcome();
  const exited = new Promise<string>((resolve) => child.once('exit', () => resolve(outcome())));
  try {
    process.kill(-child.pid!, 'SIGINT');
  } catch {
    // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await exited;
    return 'timeout';
  }
  return code;
}

const CLEAN_EXIT = /^(exit code 0|SIGINT)$/;

/** The servers a clone started stop with it (bounded: a busy machine takes a moment to shut PostgreSQL down). */
async function expectStopped(ports: number[]): Promise<void> {
  await waitFor(async () => !(await Promise.all(ports.map((port) => isListening(port)))).some(Boolean), 30_000, `ports ${ports.join(', ')} to close`);
}

async function api(started: Started, method: string, path: string, body?: unknown, token = started.token): Promise<Omit<JsonResponse, 'headers'>> {
  const res = await fetch(`${started.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

afterAll(async () => {
  for (const started of running.splice(0)) await stop(started);
  for (const clone of clones.splice(0)) {
    rmSync(clone.root, { recursive: true, force: true });
    // As root, the clone's PostgreSQL data lived outside it (the postgres user cannot enter a 0700 folder).
    rmSync(dirname(relocatedDataDir(join(clone.dir, '.data', 'postgres'))), { recursive: true, force: true });
  }
}, 2 * STOP_TIMEOUT_MS);

const WEBHOOKS = '/department/dept_demo/webhook/';

describe('npm start from a clone under a 0700 folder', () => {
  it(
    'serves the API with the printed token, says where its data lives, and stops cleanly on Ctrl-C',
    async () => {
      const clone = makeClone();
      const started = await npmStart(clone);
      const list = await api(started, 'GET', WEBHOOKS);
      expect(list.status).toBe(200);
      expect(list.body.webhooks).toEqual([]);
      // The printed admin token opens the queue dashboard; the department's own admin token does not.
      expect((await api(started, 'GET', '/admin/queues/api/queues', undefined, started.operatorToken)).status).toBe(200);
      expect((await api(started, 'GET', '/admin/queues/api/queues')).status).toBe(403);
      const isRoot = process.getuid?.() === 0;
      // One line says where PostgreSQL keeps its data; as root it cannot be inside the 0700 folder.
      const line = started
        .output()
        .split('\n')
        .find((text) => text.includes('Started local PostgreSQL'))!;
      expect(line).toBeDefined();
      // Not root: PostgreSQL runs as this user, who owns the clone, so the data stays in it.
      expect(line).toContain(`data: ${isRoot ? relocatedDataDir(join(clone.dir, '.data', 'postgres')) : join(clone.dir, '.data', 'postgres')}`);

      // A second npm start of the same clone reuses its servers and says why that is safe.
      const second = await npmStart(clone);
      expect(second.output()).toMatch(/Reusing this clone's PostgreSQL already running on port \d+ .*nothing is shared with another clone/);
      expect(second.output()).toMatch(/Reusing this clone's Redis already running on port \d+/);
      expect(second.postgresPort).toBe(started.postgresPort);
      expect((await api(second, 'GET', WEBHOOKS)).status).toBe(200);
      expect(await stop(second)).toMatch(CLEAN_EXIT);
      expect(second.output()).not.toMatch(/^error: |exited unexpectedly/m);
      // The servers belong to the first start: they outlive the second one.
      expect(await isListening(started.postgresPort)).toBe(true);

      expect(await stop(started)).toMatch(CLEAN_EXIT);
      expect(started.output()).not.toMatch(/^error: |exited unexpectedly/m);
      await expectStopped([started.postgresPort, started.redisPort]);
      expect(isProcessAlive(started.child.pid!)).toBe(false);
    },
    START_TIMEOUT_MS * 2 + STOP_TIMEOUT_MS * 2,
  );

  it(
    'keeps two clones started side by side apart: own ports, own data, own tokens',
    async () => {
      const [a, b] = [makeClone(), makeClone()];
      const [first, second] = await Promise.all([npmStart(a), npmStart(b)]);
      expect(first.postgresPort).not.toBe(second.postgresPort);
      expect(first.redisPort).not.toBe(second.redisPort);

      const created = await api(first, 'POST', WEBHOOKS, { name: 'Only in A', url: 'https://example.com/hook', events: ['SURVEY_COMPLETED'] });
      expect(created.status).toBe(201);
      expect((await api(first, 'GET', WEBHOOKS)).body.webhooks.map((w: { name: string }) => w.name)).toEqual(['Only in A']);
      const listedByB = await api(second, 'GET', WEBHOOKS);
      expect(listedByB.status).toBe(200);
      expect(listedByB.body.webhooks).toEqual([]);
      // A token printed by one clone means nothing to the other.
      expect((await api(second, 'GET', WEBHOOKS, undefined, first.token)).status).toBe(401);

      expect(await stop(first)).toMatch(CLEAN_EXIT);
      expect(await stop(second)).toMatch(CLEAN_EXIT);
      await expectStopped([first.postgresPort, first.redisPort, second.postgresPort, second.redisPort]);
    },
    START_TIMEOUT_MS + STOP_TIMEOUT_MS * 2,
  );
});

describe('npm test from a clone under a 0700 folder', () => {
  it(
    "starts the test run's own PostgreSQL and Redis there and passes (the e2e project's ops suite)",
    async () => {
      const clone = makeClone();
      // jest directly: npm test would first typecheck and lint the whole clone, which this checkout's run already did.
      // The path comes first: --selectProjects takes every word after it as a project name.
      const child = spawn(process.execPath, [join('node_modules', 'jest', 'bin', 'jest.js'), 'test/e2e/ops.e2e-spec.ts', '--selectProjects', 'e2e'], {
        cwd: clone.dir,
        env: newcomerEnv(0),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, START_TIMEOUT_MS);
        child.once('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      expect({ code, tail: text.slice(-2000) }).toEqual({ code: 0, tail: expect.stringMatching(/Tests:\s+\d+ passed, \d+ total/) as unknown });
      expect(text).not.toMatch(/EACCES/);
    },
    START_TIMEOUT_MS + STOP_TIMEOUT_MS,
  );
});
