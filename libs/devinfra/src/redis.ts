import { spawn, spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { LocalService, PortTakenError } from './postgres';
import { isListening, waitFor } from './ports';

export interface RedisOptions {
  dataDir: string;
  port: number;
  /** AOF persistence, as in production (the dev default); tests may turn it off for speed. */
  appendOnly?: boolean;
  log?: (line: string) => void;
}

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

/** redis-server from PATH; on Debian/Ubuntu as root, installed with apt when missing. */
export function ensureRedisServerBinary(log: (line: string) => void = () => undefined): void {
  if (onPath('redis-server')) return;
  const isDebian = existsSync('/etc/debian_version');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isDebian && isRoot) {
    log('redis-server not found: installing it with apt-get (Debian package redis-server)…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env });
    if (update.status === 0 && install.status === 0 && onPath('redis-server')) return;
  }
  throw new Error(
    'redis-server was not found on PATH. Install Redis 6.2+ (e.g. `apt-get install redis-server` or ' +
      '`brew install redis`), or run `docker compose up -d redis`, or set REDIS_URL to an existing Redis.',
  );
}

/** The data folder (`CONFIG GET dir`) of the Redis answering on 127.0.0.1:port, if any answers. */
export async function redisDataDirectory(port: number, timeoutMs = 2000): Promise<string | undefined> {
  // One try, no reconnects, no offline queue: whatever answers (or not) within the timeout decides.
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const reply = await client.config('GET', 'dir');
    // [ 'dir', '<folder>' ]; an error (CONFIG renamed, auth…) is not a known server.
    return Array.isArray(reply) && reply[0] === 'dir' && typeof reply[1] === 'string' ? reply[1] : undefined;
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * A local redis-server with data under `dataDir` (AOF on, noeviction, loopback only). When this data
 * folder's own server already serves the port (another `npm start` of the same clone) it is reused and
 * left running; any other server on the port is never used (PortTakenError).
 */
export async function startLocalRedis(options: RedisOptions): Promise<LocalService> {
  const url = `redis://127.0.0.1:${options.port}`;
  if (await isListening(options.port)) {
    const served = await redisDataDirectory(options.port);
    if (served === undefined || realOrResolved(served) !== realOrResolved(options.dataDir)) {
      throw new PortTakenError(options.port, served === undefined ? "a programme that is not this clone's Redis" : `the Redis of ${served}`);
    }
    return { url, dataDir: options.dataDir, reused: {}, stop: async () => undefined };
  }

  const log = options.log ?? (() => undefined);
  ensureRedisServerBinary(log);
  mkdirSync(options.dataDir, { recursive: true });
  const args = [
    '--port',
    String(options.port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dataDir,
    '--appendonly',
    options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => log(chunk.toString().trim()));
  child.stderr.on('data', (chunk: Buffer) => log(chunk.toString().trim()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  await waitFor(async () => exited || (await isListening(options.port)), 15_000, `redis-server on port ${options.port}`);
  if (exited) throw new Error(`redis-server exited at start (port ${options.port}); see its log`);

  return {
    url,
    pid: child.pid,
    dataDir: options.dataDir,
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      await exit;
    },
  };
}
