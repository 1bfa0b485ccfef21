import { createServer, Socket } from 'node:net';

/**
 * Ports for a server another process binds later (a test's PostgreSQL or Redis): 10000–24999, below
 * `npm start`'s stack ranges and outside Linux's ephemeral ports (32768–60999 by default). A port the OS
 * hands out for `listen(0)` lies in the ephemeral range, where any outgoing connection can take it
 * between this check and the other process's bind (EADDRINUSE, seen in CI); here only another listener
 * can, and the pick is random among 15,000.
 */
export const FREE_PORT_RANGE = { first: 10_000, last: 24_999 } as const;

/** A TCP port free on 127.0.0.1 right now, from FREE_PORT_RANGE. Prefer `listen(0)` when the binding process can report its port. */
export async function freePort(random: () => number = Math.random): Promise<number> {
  const size = FREE_PORT_RANGE.last - FREE_PORT_RANGE.first + 1;
  for (let tries = 0; tries < 100; tries++) {
    const port = FREE_PORT_RANGE.first + Math.floor(random() * size);
    if (await canListen(port)) return port;
  }
  throw new Error(`No free port in ${FREE_PORT_RANGE.first}–${FREE_PORT_RANGE.last} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}

/** Polls a condition until it holds or the time is up. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
