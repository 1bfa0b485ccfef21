/**
 * npm run bench:api — throughput and p99 latency of GET /department/{id}/webhook/ (20 webhooks,
 * authenticated) against a bare NestJS route served the same way, in one run on this machine.
 * Each server runs in its own process; autocannon drives both with the same settings.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppExceptionFilter, jsonBody, requestId, requireJsonBody } from '@pollarix/common';
import { loadConfig } from '@pollarix/config';
import { freePort } from '@pollarix/devinfra';
import { Database, dataSourceOptions } from '@pollarix/database';
import autocannon from 'autocannon';
import cookieParser from 'cookie-parser';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { createApiApp } from '../apps/api/src/app';
import { TokenService } from '@pollarix/auth';
import { Child, startChild, startInfra } from './support/bench-infra';

const WEBHOOKS = 20;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = 3;

// The bare route answers a body of the same shape and size as the real list.
const BARE_BODY = {
  departmentId: 'dept_bench',
  webhooks: Array.from({ length: WEBHOOKS }, (_, i) => ({
    id: `wh_${String(i).padStart(22, '0')}`,
    name: `Bench webhook ${i}`,
    url: `https://receiver.example.com/hooks/${i}`,
    events: ['SURVEY_COMPLETED', 'COUPON_REDEEMED'],
    headers: { Authorization: 'Bearer bench-header-value-0123456789' },
    isActive: true,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    disabledReason: null,
  })),
};

@Controller()
class BareController {
  @Get('bare')
  list(): typeof BARE_BODY {
    return BARE_BODY;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function serve(kind: string, port: number): Promise<void> {
  if (kind === 'bare') {
    const app = await NestFactory.create(BareModule, { bodyParser: false, logger: false });
    app.use(requestId, requireJsonBody, jsonBody, cookieParser());
    app.useGlobalFilters(new AppExceptionFilter());
    await app.listen(port, '127.0.0.1');
  } else {
    const app = await createApiApp(loadConfig({ requireConnections: true }));
    await app.listen(port, '127.0.0.1');
  }
  process.stdout.write('ready\n');
}

function startServer(kind: string, port: number, env: NodeJS.ProcessEnv): Promise<Child> {
  return startChild(`${kind} server`, process.execPath, [...process.execArgv, __filename, 'serve', kind, String(port)], env, 'ready', 60_000);
}

interface Measure {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function measure(url: string, headers: Record<string, string>): Promise<Measure> {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: WARMUP_S });
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function main(): Promise<void> {
  const scratch = resolve('.data', 'bench', `api-${process.pid}`);
  const infra = await startInfra(scratch);
  const { databaseUrl, redisUrl } = infra;
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SECRETS_ENCRYPTION_KEY: process.env.SECRETS_ENCRYPTION_KEY ?? randomBytes(32).toString('hex'),
    RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: 'error',
    NODE_ENV: 'production',
  };
  const children: Child[] = [];
  try {
    const ds = new DataSource(dataSourceOptions(databaseUrl));
    await ds.initialize();
    await ds.runMigrations();
    await ds.destroy();

    const [barePort, apiPort] = [await freePort(), await freePort()];
    children.push(await startServer('bare', barePort, env));
    children.push(await startServer('api', apiPort, env));

    const config = loadConfig({ requireConnections: true, env });
    const setup = new DataSource(dataSourceOptions(databaseUrl));
    await setup.initialize();
    const db = new Database(setup, config);
    const department = `dept_bench_${randomBytes(4).toString('hex')}`;
    const { secret } = await new TokenService(db.repos).create({ departments: [department], name: 'bench' });
    const auth = { authorization: `Bearer ${secret}` };
    for (const webhook of BARE_BODY.webhooks) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/department/${department}/webhook/`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: webhook.name, url: webhook.url, events: webhook.events, headers: webhook.headers }),
      });
      if (res.status !== 201) throw new Error(`setup create failed: ${res.status} ${await res.text()}`);
    }
    await setup.destroy();

    console.log(`bench:api — ${CONNECTIONS} connections, ${DURATION_S} s per target after ${WARMUP_S} s warm-up, ${WEBHOOKS} webhooks`);
    const bare = await measure(`http://127.0.0.1:${barePort}/bare`, {});
    const list = await measure(`http://127.0.0.1:${apiPort}/department/${department}/webhook/`, auth);
    const row = (name: string, m: Measure) =>
      `${name.padEnd(34)} ${m.rps.toFixed(0).padStart(8)} req/s   p50 ${String(m.p50).padStart(4)} ms   p99 ${String(m.p99).padStart(4)} ms   non-2xx ${m.non2xx}`;
    console.log(row('bare NestJS route', bare));
    console.log(row('GET /department/{id}/webhook/', list));
    console.log(`ratio (list / bare): ${(list.rps / bare.rps).toFixed(2)}   (target ≥ 0.50)`);
    if (list.non2xx > 0 || bare.non2xx > 0) process.exitCode = 1;
  } finally {
    for (const child of children) await child.stop();
    await infra.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'serve') {
  serve(process.argv[3], Number(process.argv[4])).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
