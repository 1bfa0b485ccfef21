import { WORKER_NODE_FLAGS } from '@pollarix/config';
import { isProcessAlive } from '@pollarix/devinfra';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createScratchDatabase, REPO_ROOT, runMigrations, startTestPostgres, startTestRedis, TestService } from './infra';

/**
 * System tests run real worker processes. Each test file gets a stack of its own (a PostgreSQL
 * database in the suite's server and a redis-server of its own), so that no other file's workers take
 * its jobs and a Redis restart here disturbs nobody else.
 */
export interface Stack {
  databaseUrl: string;
  redisUrl: string;
  redis: TestService;
  /** This file's own PostgreSQL server, when asked for one (startStack's ownPostgres): to stop or freeze it without touching the suite's. */
  postgres?: TestService;
  /** Stops this file's Redis (SIGKILL when `hard`) and, with `wipe`, deletes its data; then starts it again on the same port. */
  restartRedis(options: { hard: boolean; wipe: boolean }): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(label: string, options: { ownPostgres?: boolean } = {}): Promise<Stack> {
  const postgres = options.ownPostgres ? await startTestPostgres(`postgres-${process.pid}-${label}`) : undefined;
  const databaseUrl = postgres?.url ?? (await createScratchDatabase(`pollarix_${label}`)).url;
  await runMigrations(databaseUrl);
  const name = `redis-${process.pid}-${label}`;
  let redis = await startTestRedis(name, { appendOnly: true });
  const port = Number(new URL(redis.url).port);
  return {
    databaseUrl,
    get redisUrl() {
      return redis.url;
    },
    get redis() {
      return redis;
    },
    postgres,
    async restartRedis({ hard, wipe }) {
      if (hard && redis.pid) {
        const exited = waitForExit(redis.pid);
        process.kill(redis.pid, 'SIGKILL');
        await exited;
      } else {
        await redis.stop();
      }
      if (wipe) {
        const { rmSync } = await import('node:fs');
        rmSync(redis.dataDir, { recursive: true, force: true });
      }
      redis = await startTestRedis(name, { port, appendOnly: true });
    },
    async close() {
      await redis.stop();
      await postgres?.stop();
    },
  };
}

/**
 * The stack's connections and settings under which failures recover in seconds: short retries,
 * short job locks (a killed worker's jobs move on after 2 s), a sweeper every second.
 */
export function fastRecoveryEnv(stack: Stack): Record<string, string> {
  return {
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true',
    DELIVERY_RETRY_SCHEDULE: '200ms,500ms,1s,1s,1s,1s,1s',
    DELIVERY_TIMEOUT_MS: '2000',
    QUEUE_LOCK_DURATION: '2s',
    SWEEPER_INTERVAL: '1s',
    SWEEPER_GRACE: '3s',
    LOG_LEVEL: 'warn',
  };
}

function waitForExit(pid: number): Promise<void> {
  return waitUntil(`process ${pid} has exited`, () => !isProcessAlive(pid), 30_000, 20);
}

export interface WorkerProcess {
  pid: number;
  output: string[];
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to finish anything. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** A built worker (dist/apps/worker/main.js) as its own process; resolves once it logged "worker ready". */
export function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  // As shipped: the image and `npm start` run workers with these node flags. Any free port for health
  // and metrics unless the test names one: test files run side by side, and 9464 may be taken.
  return spawnApp('worker', { WORKER_HTTP_PORT: '0', ...env }, 'worker ready', WORKER_NODE_FLAGS);
}

export interface ApiProcess extends WorkerProcess {
  /** http://127.0.0.1:<the port it listens on>. */
  url: string;
}

const API_LISTENING = /API listening on https?:\/\/[^\s"]*:(\d+)(?=["\s])/; // the whole number, not a chunk's first digits

/**
 * A built API (dist/apps/api/main.js) as its own process; resolves once it listens. On any free port
 * unless the test names `PORT`: the API binds port 0 and announces the port it got, so no other process
 * can take it between a check and the bind (an outgoing connection did, in CI).
 */
export async function spawnApi(env: Record<string, string>): Promise<ApiProcess> {
  // Any free metrics port unless the test names one, as for workers: several APIs run side by side.
  const api = await spawnApp('api', { PORT: '0', API_METRICS_PORT: '0', ...env }, API_LISTENING);
  const [, port] = API_LISTENING.exec(api.output.join(''))!;
  return { ...api, url: `http://127.0.0.1:${port}` };
}

const READY_TIMEOUT_MS = 30_000;

async function spawnApp(app: 'api' | 'worker', env: Record<string, string>, readyText: string | RegExp, nodeFlags: readonly string[] = []): Promise<WorkerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, join(REPO_ROOT, 'dist', 'apps', app, 'main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${app} did not print "${readyText}" within ${READY_TIMEOUT_MS} ms:\n${output.join('')}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (typeof readyText === 'string' ? output.join('').includes(readyText) : readyText.test(output.join(''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited with ${code} before it was ready:\n${output.join('')}`));
    });
  });
  return {
    pid: child.pid!,
    output,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The base URL of a worker's health and metrics server (WORKER_HTTP_PORT 0), once it has announced its port. */
export async function workerHttpUrl(worker: WorkerProcess): Promise<string> {
  const port = () => /health and metrics on port (\d+)(?=["\s])/.exec(worker.output.join(''))?.[1];
  await waitUntil('the worker reports its HTTP port', () => port() !== undefined);
  return `http://127.0.0.1:${port()}`;
}

/** The base URL of an API's internal metrics port (API_METRICS_PORT), announced before it listens. */
export function apiMetricsUrl(api: WorkerProcess): string {
  const port = /metrics on port (\d+)/.exec(api.output.join(''))?.[1];
  if (port === undefined) throw new Error(`the API did not announce its metrics port:\n${api.output.join('')}`);
  return `http://127.0.0.1:${port}`;
}

/** Polls until the condition holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => Promise<boolean> | boolean, timeoutMs = 30_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
