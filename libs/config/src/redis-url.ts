import type { ClusterOptions, RedisOptions } from 'ioredis';

/**
 * REDIS_URL in its three forms. This file imports nothing from the project: libs/config validates
 * REDIS_URL with parseRedisUrl, so the variable is accepted exactly when a connection can be built.
 *
 *   redis://[[user]:password@]host[:6379][/db]       one node (rediss:// for TLS); ioredis reads it as is
 *   redis+sentinel://[[user]:password@]host[:26379][,host[:port]…]/master[/db][?sentinelPassword=…&sentinelUsername=…&tls=true]
 *   redis+cluster://[[user]:password@]host[:6379][,host[:port]…][?tls=true]
 *
 * The password in the URL is the data nodes' password; Sentinel's own is `sentinelPassword`. Special
 * characters in a password or a master name must be percent-encoded (`@` → %40, `/` → %2F).
 */

export interface RedisNodeAddress {
  host: string;
  port: number;
}

interface TopologyBase {
  /** The nodes named in the URL: the server, the Sentinels, or the Cluster's seed nodes. */
  nodes: RedisNodeAddress[];
  tls: boolean;
}

export interface SingleNodeTopology extends TopologyBase {
  kind: 'single';
  /** Handed to ioredis unchanged, so every form it reads (query options included) keeps working. */
  url: string;
}

export interface SentinelTopology extends TopologyBase {
  kind: 'sentinel';
  masterName: string;
  db: number;
  /** ioredis options for a Sentinel-managed master (`sentinels`, `name`, credentials, TLS). */
  options: RedisOptions;
}

export interface ClusterTopology extends TopologyBase {
  kind: 'cluster';
  /** ioredis Cluster options; `redisOptions` apply to every node connection. */
  options: ClusterOptions;
}

export type RedisTopology = SingleNodeTopology | SentinelTopology | ClusterTopology;

/** A REDIS_URL that cannot be used; the message is one line and never contains the password. */
export class RedisUrlError extends Error {}

const FORMS = 'redis://host:6379, rediss://…, redis+sentinel://host:26379,host:26379/mymaster or redis+cluster://host:6379,host:6379';
const DEFAULT_PORT = { single: 6379, sentinel: 26379, cluster: 6379 } as const;
const OPTIONS = { sentinel: ['sentinelPassword', 'sentinelUsername', 'tls'], cluster: ['tls'] } as const;

/** Reads REDIS_URL; throws RedisUrlError naming what is wrong and the expected form. */
export function parseRedisUrl(url: string): RedisTopology {
  const scheme = /^([a-z+]+):\/\//.exec(url)?.[1];
  if (/\s/.test(url)) throw new RedisUrlError('must not contain spaces');
  switch (scheme) {
    case 'redis':
    case 'rediss':
      return parseSingleNode(url);
    case 'redis+sentinel':
    case 'redis+cluster':
      return parseMultiNode(url, scheme === 'redis+sentinel' ? 'sentinel' : 'cluster');
    default:
      throw new RedisUrlError(`must be one of ${FORMS}`);
  }
}

function parseSingleNode(url: string): SingleNodeTopology {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(
      url.includes(',')
        ? 'names several hosts: use redis+sentinel://… or redis+cluster://… for those'
        : 'is not a valid URL (percent-encode special characters in the password)',
    );
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new RedisUrlError(`has no host, as in ${parsed.protocol}//127.0.0.1:6379`);
  if (!/^\/?(\d+)?$/.test(parsed.pathname))
    throw new RedisUrlError(`has path ${JSON.stringify(parsed.pathname)}: only a database number may follow the host, as in /0`);
  const port = parsed.port ? Number(parsed.port) : DEFAULT_PORT.single;
  return { kind: 'single', url, nodes: [{ host, port }], tls: parsed.protocol === 'rediss:' };
}

function parseMultiNode(url: string, kind: 'sentinel' | 'cluster'): SentinelTopology | ClusterTopology {
  const scheme = `redis+${kind}://`;
  const example = kind === 'sentinel' ? 'redis+sentinel://:password@host1:26379,host2:26379/mymaster' : 'redis+cluster://:password@host1:6379,host2:6379';
  const rest = url.slice(scheme.length);
  const match = /^(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(rest);
  // An @ other than the one ending the user info is part of a password: say so without quoting it.
  const atSigns = rest.split('@').length - 1;
  if (!match || atSigns > 1 || (atSigns === 1 && match[1] === undefined)) {
    throw new RedisUrlError(`is not a valid ${scheme} URL (percent-encode @, /, ? and # in passwords), expected e.g. ${example}`);
  }
  const [, userInfo, hostList, path = '', query = ''] = match;

  const nodes = hostList.split(',').map((text) => parseNode(text, DEFAULT_PORT[kind], example));
  const credentials = parseUserInfo(userInfo);
  const params = parseQuery(query, OPTIONS[kind], scheme);
  const tls = params.tls === undefined ? false : parseBoolean('tls', params.tls);

  if (kind === 'cluster') {
    if (!/^\/?0?$/.test(path)) throw new RedisUrlError('selects a database, but Redis Cluster has only database 0: end the URL after the hosts');
    const redisOptions: RedisOptions = { ...credentials, ...(tls ? { tls: {} } : {}) };
    return {
      kind,
      nodes,
      tls,
      // With TLS, keep the node names the cluster announces: certificates name hosts, not addresses.
      options: { redisOptions, ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}) },
    };
  }

  const segments = path.split('/').slice(1);
  const masterName = decode(segments[0] ?? '', 'the master name');
  if (!masterName || segments.length > 2) throw new RedisUrlError(`must name the Sentinel master after the hosts (and optionally a database), as in ${example}[/0]`);
  const dbText = segments[1] ?? '';
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new RedisUrlError(`has database ${JSON.stringify(dbText)}: it must be a number`);
  const db = dbText === '' ? 0 : Number(dbText);
  const options: RedisOptions = {
    sentinels: nodes,
    name: masterName,
    db,
    ...credentials,
    ...(params.sentinelUsername !== undefined ? { sentinelUsername: params.sentinelUsername } : {}),
    ...(params.sentinelPassword !== undefined ? { sentinelPassword: params.sentinelPassword } : {}),
    // tls=true: TLS to the Sentinels and to the master and replicas they point at.
    ...(tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
  };
  return { kind, nodes, tls, masterName, db, options };
}

function parseNode(text: string, defaultPort: number, example: string): RedisNodeAddress {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) {
    throw new RedisUrlError(
      text === ''
        ? `has an empty host in its host list, expected e.g. ${example}`
        : `has an invalid host ${JSON.stringify(text)}, expected host or host:port as in ${example}`,
    );
  }
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) throw new RedisUrlError(`has port ${port} for host ${match[1]}: ports run from 1 to 65535`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

function parseUserInfo(userInfo: string | undefined): { username?: string; password?: string } {
  if (!userInfo) return {};
  const colon = userInfo.indexOf(':');
  // As ioredis reads redis://user@host: a lone name is a user name (ACL), not a password.
  const username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'the user name');
  const password = colon === -1 ? '' : decode(userInfo.slice(colon + 1), 'the password');
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseQuery(query: string, allowed: readonly string[], scheme: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    if (!allowed.includes(key)) throw new RedisUrlError(`has unknown option ${JSON.stringify(key)}: ${scheme} takes ${allowed.join(', ')}`);
    params[key] = value;
  }
  return params;
}

function parseBoolean(name: string, value: string): boolean {
  if (['true', '1', 'yes'].includes(value.toLowerCase())) return true;
  if (['false', '0', 'no'].includes(value.toLowerCase())) return false;
  throw new RedisUrlError(`has ${name}=${JSON.stringify(value)}: use ${name}=true or ${name}=false`);
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`has a malformed percent-encoding in ${what}`);
  }
}

/** A connection URL (REDIS_URL, DATABASE_URL) for logs and messages: passwords (in the user info or the query) replaced by ***. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z+]+:\/\/)([^@/?#]*)@/, (_, scheme: string, userInfo: string) => {
      const colon = userInfo.indexOf(':');
      return colon === -1 ? `${scheme}${userInfo}@` : `${scheme}${userInfo.slice(0, colon)}:***@`;
    })
    .replace(/([?&][A-Za-z]*password=)[^&#]*/gi, '$1***');
}
