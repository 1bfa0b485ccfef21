import { runPendingMigrations } from '@pollarix/database';
import { ensureRedisServerBinary, freePort, isProcessAlive, LocalService, relocatedDataDir, startLocalPostgres, startLocalRedis } from '@pollarix/devinfra';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';

/** Throw-away PostgreSQL and Redis for the test run (global setup) and for tests that need their own. */

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const TEST_DATA_DIR = join(REPO_ROOT, '.data', 'test');

export interface TestService extends LocalService {
  /** Directory to delete once the server has stopped (PostgreSQL deletes its own). */
  dataDir: string;
}

/** A fresh, non-persistent PostgreSQL cluster on a free port (its files are deleted when it stops). */
export async function startTestPostgres(name = `postgres-${process.pid}`): Promise<TestService> {
  const dataDir = join(TEST_DATA_DIR, name);
  rmSync(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const service = await startLocalPostgres({ dataDir, port, database: 'pollarix_test', persistent: false });
  // As root in a clone the postgres user cannot enter, the data lives outside the clone (service.dataDir).
  return { ...service, dataDir: service.dataDir ?? dataDir };
}

/** A redis-server on a free port (or the given one, e.g. to restart it in place) with its data under .data/test. */
export async function startTestRedis(name = `redis-${process.pid}`, options: { port?: number; appendOnly?: boolean } = {}): Promise<TestService> {
  ensureRedisServerBinary((line) => process.stderr.write(`${line}\n`));
  const dataDir = join(TEST_DATA_DIR, name);
  const port = options.port ?? (await freePort());
  const service = await startLocalRedis({ dataDir, port, appendOnly: options.appendOnly ?? false });
  return { ...service, dataDir };
}

/** A name no other test run uses: `label_<12 hex>` (departments, token names…). */
export function uniqueName(label: string): string {
  return `${label}_${randomBytes(6).toString('hex')}`;
}

export async function runMigrations(databaseUrl: string): Promise<void> {
  await runPendingMigrations(databaseUrl, { logging: false });
}

/** Data directories left by runs that were killed (their pid is gone), in the clone and in their stand-in folder. */
export function removeStaleTestData(): void {
  for (const folder of [TEST_DATA_DIR, dirname(relocatedDataDir(join(TEST_DATA_DIR, 'postgres')))]) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      const match = /^(?:postgres|redis)-(\d+)$/.exec(name);
      if (match && Number(match[1]) !== process.pid && !isProcessAlive(Number(match[1]))) {
        rmSync(join(folder, name), { recursive: true, force: true });
      }
    }
  }
}

/**
 * A database of its own on the test cluster (DATABASE_URL), for suites that must not disturb the shared
 * one (reverting migrations, statistics and backlogs of their own); `drop` removes it.
 */
export async function createScratchDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.DATABASE_URL!;
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}"`) };
}
