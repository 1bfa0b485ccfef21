/**
 * npm run bench:publish — how fast one producer can publish through each path, on `npm start`'s
 * defaults (rate limits included), and whether any path meets a 429 at that pace:
 *
 *   library:      EventPublisher.publishBatch, 500 events per call, calls one after another;
 *   batch HTTP:   POST /internal/events/batch to a real API process, 500 events per request, BENCH_PUBLISH_CONNECTIONS (4) at a time;
 *   small batches: the same with 25 events per request and 32 at a time (the producer of issue 15);
 *   single HTTP:  POST /internal/events, one event per request, 32 at a time;
 *   CLI:          `pollarix-webhooks event publish`, one process per event, one after another.
 *
 * Every event goes to a department with one subscribed webhook, so each publish stores its delivery
 * and queues its first attempt as in production; no worker runs (the queue only grows). Settings:
 * BENCH_PUBLISH_EVENTS (20000 per HTTP/library path), BENCH_PUBLISH_SECONDS (5, the single-event
 * path's duration), BENCH_PUBLISH_CLI (5 events). Exits non-zero when a publish failed otherwise than
 * with a 429 (429s are counted and printed: with the defaults there should be none).
 */
import 'reflect-metadata';
import { TokenService } from '@pollarix/auth';
import { DEFAULT_PUBLISH_EVENTS_PER_MINUTE } from '@pollarix/config';
import { freePort } from '@pollarix/devinfra';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startChild } from './support/bench-infra';
import { fmt } from './support/format';
import { Context, runBench } from './support/harness';
import { createWebhook, eventData } from './support/pipeline';
import { int } from './support/settings';

const EVENTS = int('BENCH_PUBLISH_EVENTS', 20_000);
const SECONDS = int('BENCH_PUBLISH_SECONDS', 5);
const CLI_EVENTS = Math.round(int('BENCH_PUBLISH_CLI', 5));
const ROOT = resolve(__dirname, '..');

interface PathResult {
  events: number;
  seconds: number;
  limited: number;
}

const event = (departmentId: string, i: number) => ({ type: 'SURVEY_COMPLETED', departmentId, data: eventData(i, new Date().toISOString()) });

/** Runs `one` with `concurrency` in flight until `more()` says stop; counts events and 429s; throws on any other failure. */
async function drive(concurrency: number, more: (done: number) => boolean, one: (i: number) => Promise<{ status: number; events: number }>): Promise<PathResult> {
  let events = 0;
  let limited = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more(events)) {
        const { status, events: n } = await one(next++);
        if (status === 429) limited++;
        else if (status !== 202) throw new Error(`HTTP ${status}`);
        else events += n;
      }
    }),
  );
  return { events, seconds: (performance.now() - started) / 1000, limited };
}

async function post(url: string, token: string, body: unknown): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [resolve(ROOT, 'dist', 'apps', 'cli', 'main.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolvePromise(0) : reject(new Error(`cli exited ${code}: ${stderr.slice(-500)}`))));
  });
}

async function run(ctx: Context): Promise<void> {
  const { departmentId } = await createWebhook(ctx, 'publish', `${ctx.receiver.url}/publish`);
  const { secret: token } = await new TokenService(ctx.db.repos).create({ departments: ['*'], scopes: ['events:publish'], name: 'bench producer' });
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: ctx.infra.databaseUrl,
    REDIS_URL: ctx.infra.redisUrl,
    SECRETS_ENCRYPTION_KEY: ctx.secretsKey,
    LOG_LEVEL: 'warn',
  };
  const port = await freePort();
  const api = await startChild(
    'api',
    process.execPath,
    [resolve(ROOT, 'dist', 'apps', 'api', 'main.js')],
    { ...env, PORT: String(port), HOST: '127.0.0.1', API_METRICS_PORT: '0' },
    'listening on',
    60_000,
  );
  ctx.children.push(api);
  const base = `http://127.0.0.1:${port}`;
  const results: [string, PathResult][] = [];
  const measure = async (name: string, result: Promise<PathResult>) => {
    try {
      results.push([name, await result]);
    } catch (error) {
      ctx.failures.push(`${name}: ${(error as Error).message}`);
    }
  };

  const publisher = ctx.publisher();
  await measure(
    'library, publishBatch of 500',
    drive(
      1,
      (done) => done < EVENTS,
      async (i) => {
        await publisher.publishBatch(Array.from({ length: 500 }, (_, k) => event(departmentId, i * 500 + k)));
        return { status: 202, events: 500 };
      },
    ),
  );
  for (const [size, concurrency] of [
    [500, int('BENCH_PUBLISH_CONNECTIONS', 4)],
    [25, 32],
  ]) {
    await measure(
      `HTTP batch of ${size}, ${concurrency} at a time`,
      drive(
        concurrency,
        (done) => done < EVENTS,
        async (i) => ({
          status: await post(`${base}/internal/events/batch`, token, { events: Array.from({ length: size }, (_, k) => event(departmentId, i * size + k)) }),
          events: size,
        }),
      ),
    );
  }
  const until = () => performance.now() + SECONDS * 1000;
  const singleEnd = until();
  await measure(
    'HTTP single event, 32 at a time',
    drive(
      32,
      () => performance.now() < singleEnd,
      async (i) => ({ status: await post(`${base}/internal/events`, token, event(departmentId, i)), events: 1 }),
    ),
  );
  await measure(
    'CLI, one process per event',
    drive(
      1,
      (done) => done < CLI_EVENTS,
      async (i) => {
        const data = JSON.stringify(eventData(i, new Date().toISOString()));
        await cli(['event', 'publish', '--department', departmentId, '--type', 'SURVEY_COMPLETED', '--data', data], env);
        return { status: 202, events: 1 };
      },
    ),
  );

  console.log(
    `\nbench:publish — one producer per path, npm start's defaults (RATE_LIMIT_PUBLISH_PER_MINUTE ${fmt(DEFAULT_PUBLISH_EVENTS_PER_MINUTE)} events per token), one subscribed webhook, no worker`,
  );
  for (const [name, r] of results) {
    console.log(`${name.padEnd(34)} ${fmt(r.events / r.seconds).padStart(8)} events/s   (${fmt(r.events)} in ${fmt(r.seconds, 2)} s)   429s ${r.limited}`);
  }
}

runBench({ name: 'publish', watchdogMs: 15 * 60_000, run });
