import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * One local stack per clone: the default ports of `npm start`'s PostgreSQL and Redis come from the
 * absolute path of the clone's data folder (DATA_DIR, `.data` by default), so two clones never meet
 * on one port by default; `.data/stack.json` remembers the ports last used, as a hint only (a server
 * is reused only once it has shown that it serves this data folder).
 */
// Both ranges lie outside Linux's ephemeral ports (32768–60999 by default): a port in that range can be
// taken by any outgoing connection between the check that it is free and PostgreSQL's bind.
export const STACK_PORT_RANGES = { postgres: 25000, redis: 63000, size: 1000 } as const;

export type StackServer = 'postgres' | 'redis';

/** 0…size-1, stable for a folder: sha-256 of its absolute path. */
export function stackSlot(dataDir: string): number {
  return createHash('sha256').update(resolve(dataDir)).digest().readUInt32BE(0) % STACK_PORT_RANGES.size;
}

/** The ports to try for a server, in order: the derived one first, then the next ones in the range. */
export function candidatePorts(server: StackServer, dataDir: string, count = 20): number[] {
  const slot = stackSlot(dataDir);
  return Array.from({ length: count }, (_, i) => STACK_PORT_RANGES[server] + ((slot + i) % STACK_PORT_RANGES.size));
}

export interface StackRecord {
  postgres?: { port: number; dataDir: string };
  redis?: { port: number; dataDir: string };
}

export function stackFile(dataDir: string): string {
  return join(dataDir, 'stack.json');
}

export function readStack(dataDir: string): StackRecord {
  try {
    return JSON.parse(readFileSync(stackFile(dataDir), 'utf8')) as StackRecord;
  } catch {
    return {};
  }
}

export function recordStack(dataDir: string, server: StackServer, entry: { port: number; dataDir: string }): void {
  const record = { ...readStack(dataDir), [server]: entry };
  mkdirSync(dataDir, { recursive: true });
  const partial = `${stackFile(dataDir)}.${process.pid}`;
  writeFileSync(partial, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(partial, stackFile(dataDir));
}
