import { ensureRedisServerBinary, freePort, LocalService, startLocalPostgres, startLocalRedis } from '@pollarix/devinfra';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Benchmark plumbing: throw-away PostgreSQL/Redis when none is configured, and child processes that
 * are awaited until they say they are ready and stopped by their own handle.
 */

export interface Infra {
  databaseUrl: string;
  redisUrl: string;
  /** Pids of the servers this run started (undefined when configured from outside). */
  postgresPid?: number;
  redisPid?: number;
  /** Stops only what this run started, newest first. */
  stop(): Promise<void>;
}

/** DATABASE_URL / REDIS_URL when set; otherwise an embedded PostgreSQL and a redis-server under `scratch`. */
export async function startInfra(scratch: string): Promise<Infra> {
  const owned: LocalService[] = [];
  const stop = async () => {
    for (const service of owned.reverse()) await service.stop().catch((error: Error) => console.error(`stopping a server: ${error.message}`));
    owned.length = 0;
  };
  try {
    let databaseUrl = process.env.DATABASE_URL;
    let redisUrl = process.env.REDIS_URL;
    let postgresPid: number | undefined;
    let redisPid: number | undefined;
    if (!databaseUrl) {
      const port = await freePort();
      const pg = await startLocalPostgres({ dataDir: join(scratch, 'postgres'), port, database: 'pollarix_bench', persistent: false });
      owned.push(pg);
      databaseUrl = pg.url;
      postgresPid = pg.pid;
    }
    if (!redisUrl) {
      ensureRedisServerBinary((line) => process.stderr.write(`${line}\n`));
      const redis = await startLocalRedis({ dataDir: join(scratch, 'redis'), port: await freePort(), appendOnly: false });
      owned.push(redis);
      redisUrl = redis.url;
      redisPid = redis.pid;
    }
    return { databaseUrl, redisUrl, postgresPid, redisPid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface Child {
  name: string;
  pid: number;
  /** The last lines it wrote (stdout and stderr), for error messages. */
  tail(): string;
  /** Whether it has exited (and with what), without waiting. */
  exitCode(): number | string | null;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a process and resolves once a line of its output contains `readyText`. It is stopped (by its
 * handle) when it does not get ready within `timeoutMs` or exits before.
 */
export async function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, readyText: string, timeoutMs: number): Promise<Child> {
  const child: ChildProcess = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let exit: number | string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = code ?? signal ?? 'unknown';
      resolve();
    }),
  );
  child.once('error', (error) => lines.push(`spawn error: ${error.message}`));
  // A child that reads stdin (the bare worker) exits when this process dies and the pipe closes.
  child.stdin!.on('error', () => undefined);
  let ready: () => void = () => undefined;
  const readySeen = new Promise<void>((resolve) => (ready = resolve));
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    for (const line of text.split('\n')) if (line.trim()) lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
    if (text.includes(readyText)) ready();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  const handle: Child = {
    name,
    pid: child.pid ?? -1,
    tail: () => lines.slice(-12).join('\n'),
    exitCode: () => exit,
    async stop(graceMs = 20_000) {
      if (exit !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (exit === null) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      readySeen,
      exited.then(() => {
        throw new Error(`${name} exited (${exit}) before it was ready:\n${handle.tail()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} not ready after ${timeoutMs} ms:\n${handle.tail()}`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    await handle.stop(5_000);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return handle;
}
