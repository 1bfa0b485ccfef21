import { withTimeout } from '@pollarix/common';
import { Cluster, Redis } from 'ioredis';
import type { RedisConnection } from './redis-connection';

/** The two settings BullMQ's "Going to production" guide requires, as one node reports them. */
export interface RedisNodeSettings {
  /** host:port, or the Sentinel master's name. */
  node: string;
  /** `yes` / `no`; undefined when neither CONFIG GET nor INFO told. */
  appendonly?: string;
  maxmemoryPolicy?: string;
}

export interface SettingsLogger {
  warn(message: string): unknown;
  debug?(message: string): unknown;
}

const COMMAND_TIMEOUT_MS = 5_000;

/** What is unsafe in one node's settings, one phrase per setting (nothing for an unknown value). */
export function unsafeSettings(settings: RedisNodeSettings): string[] {
  const problems: string[] = [];
  if (settings.maxmemoryPolicy !== undefined && settings.maxmemoryPolicy !== 'noeviction') {
    problems.push(`maxmemory-policy is ${settings.maxmemoryPolicy} (must be noeviction, or Redis may evict queued jobs when memory is full)`);
  }
  if (settings.appendonly === 'no') {
    problems.push('appendonly is no (AOF off: a restart loses the jobs queued since the last snapshot; set appendonly yes)');
  }
  return problems;
}

/** One `field:value` line of an INFO reply. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info)?.[1];
}

/**
 * Reads appendonly and maxmemory-policy from the node this connection serves (the master behind
 * Sentinel) or from every master of a Cluster. CONFIG GET first; managed Redis often disables it, so
 * INFO persistence / memory after that. A node that tells nothing has undefined values; rejects only
 * when a Cluster does not become ready in time.
 */
async function readRedisSettings(connection: RedisConnection, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RedisNodeSettings[]> {
  const nodes = await masterNodes(connection, timeoutMs);
  return Promise.all(nodes.map(({ label, node }) => readNodeSettings(label, node, timeoutMs)));
}

/**
 * Logs a warning for each master whose settings can lose jobs (maxmemory-policy other than noeviction,
 * AOF off), and returns the problems found. When the settings cannot be read, says so at debug level
 * only. Never rejects, so start-up can call it without waiting.
 */
export async function warnOnUnsafeRedisSettings(connection: RedisConnection, logger: SettingsLogger): Promise<string[]> {
  try {
    const warnings: string[] = [];
    for (const settings of await readRedisSettings(connection)) {
      if (settings.appendonly === undefined && settings.maxmemoryPolicy === undefined) {
        logger.debug?.(`Redis ${settings.node}: could not read appendonly or maxmemory-policy (CONFIG and INFO unavailable); not checked`);
        continue;
      }
      const problems = unsafeSettings(settings);
      if (problems.length === 0) continue;
      const warning = `Redis ${settings.node} can lose queued jobs: ${problems.join('; ')}. See README "Redis".`;
      logger.warn(warning);
      warnings.push(warning);
    }
    return warnings;
  } catch (error) {
    logger.debug?.(`Redis settings not checked: ${(error as Error).message}`);
    return [];
  }
}

async function masterNodes(connection: RedisConnection, timeoutMs: number): Promise<{ label: string; node: Redis }[]> {
  if (!(connection instanceof Cluster)) {
    const sentinelMaster = connection.options.sentinels ? connection.options.name : undefined;
    const label = sentinelMaster ? `master "${sentinelMaster}"` : `${connection.options.host}:${connection.options.port}`;
    return [{ label, node: connection }];
  }
  // The node list comes with the slot map, after the Cluster's first 'ready'.
  if (connection.status !== 'ready') await withTimeout(new Promise((resolve) => connection.once('ready', resolve)), timeoutMs, 'Redis Cluster ready');
  return connection.nodes('master').map((node) => ({ label: `${node.options.host}:${node.options.port}`, node }));
}

async function readNodeSettings(label: string, node: Redis, timeoutMs: number): Promise<RedisNodeSettings> {
  const [appendonly, maxmemoryPolicy] = await Promise.all([configGet(node, 'appendonly', timeoutMs), configGet(node, 'maxmemory-policy', timeoutMs)]);
  const settings: RedisNodeSettings = { node: label, appendonly, maxmemoryPolicy };
  if (settings.appendonly === undefined) {
    const aof = infoField(await info(node, 'persistence', timeoutMs), 'aof_enabled');
    if (aof !== undefined) settings.appendonly = aof === '1' ? 'yes' : 'no';
  }
  settings.maxmemoryPolicy ??= infoField(await info(node, 'memory', timeoutMs), 'maxmemory_policy');
  return settings;
}

async function configGet(node: Redis, parameter: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const reply = await withTimeout(node.call('CONFIG', 'GET', parameter), timeoutMs, `CONFIG GET ${parameter}`);
    return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
  } catch {
    return undefined;
  }
}

async function info(node: Redis, section: string, timeoutMs: number): Promise<string> {
  try {
    return await withTimeout(node.info(section), timeoutMs, `INFO ${section}`);
  } catch {
    return '';
  }
}
