import { loadConfig } from './app-config';
import { parseRedisUrl, redactUrl, RedisUrlError } from './redis-url';

describe('parseRedisUrl', () => {
  describe('one node', () => {
    it('hands redis:// to ioredis as it is', () => {
      const url = 'redis://:s3cret@cache.internal:6380/2?family=6';
      expect(parseRedisUrl(url)).toEqual({ kind: 'single', url, nodes: [{ host: 'cache.internal', port: 6380 }], tls: false });
    });

    it('defaults the port and reads rediss:// as TLS', () => {
      expect(parseRedisUrl('rediss://user:pw@redis.example.com')).toMatchObject({ kind: 'single', nodes: [{ host: 'redis.example.com', port: 6379 }], tls: true });
    });

    it('reads an IPv6 host', () => {
      expect(parseRedisUrl('redis://[::1]:6379')).toMatchObject({ nodes: [{ host: '::1', port: 6379 }] });
    });
  });

  describe('Sentinel', () => {
    it('reads the Sentinels, the master name, the database and both passwords', () => {
      const topology = parseRedisUrl('redis+sentinel://:data%40pw@s1.internal:26379,s2.internal:26380,10.0.0.3/mymaster/3?sentinelPassword=sent%2Fpw');
      expect(topology).toEqual({
        kind: 'sentinel',
        nodes: [
          { host: 's1.internal', port: 26379 },
          { host: 's2.internal', port: 26380 },
          { host: '10.0.0.3', port: 26379 },
        ],
        tls: false,
        masterName: 'mymaster',
        db: 3,
        options: {
          sentinels: [
            { host: 's1.internal', port: 26379 },
            { host: 's2.internal', port: 26380 },
            { host: '10.0.0.3', port: 26379 },
          ],
          name: 'mymaster',
          db: 3,
          password: 'data@pw',
          sentinelPassword: 'sent/pw',
        },
      });
    });

    it('takes an ACL user, a Sentinel user and TLS', () => {
      const topology = parseRedisUrl('redis+sentinel://app:pw@s1:26379/main?sentinelUsername=watcher&sentinelPassword=x&tls=true');
      expect(topology.tls).toBe(true);
      expect(topology.kind === 'sentinel' && topology.options).toEqual({
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'main',
        db: 0,
        username: 'app',
        password: 'pw',
        sentinelUsername: 'watcher',
        sentinelPassword: 'x',
        tls: {},
        sentinelTLS: {},
        enableTLSForSentinelMode: true,
      });
    });

    it('needs no credentials', () => {
      expect(parseRedisUrl('redis+sentinel://127.0.0.1:26379/mymaster')).toMatchObject({
        kind: 'sentinel',
        options: { sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'mymaster', db: 0 },
      });
    });
  });

  describe('Cluster', () => {
    it('reads the seed nodes and gives the password to every node connection', () => {
      const topology = parseRedisUrl('redis+cluster://:pw@n1:7000,n2:7001,n3');
      expect(topology).toEqual({
        kind: 'cluster',
        nodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
          { host: 'n3', port: 6379 },
        ],
        tls: false,
        options: { redisOptions: { password: 'pw' } },
      });
    });

    it('with TLS, keeps the node names (certificates name hosts) and accepts a trailing / or /0', () => {
      for (const url of ['redis+cluster://n1:7000?tls=true', 'redis+cluster://n1:7000/?tls=1', 'redis+cluster://n1:7000/0?tls=true']) {
        const topology = parseRedisUrl(url);
        expect(topology.tls).toBe(true);
        if (topology.kind !== 'cluster') throw new Error('not a cluster');
        expect(topology.options.redisOptions).toEqual({ tls: {} });
        const resolved: string[] = [];
        topology.options.dnsLookup!('node-1.cache.example.com', (_error, address) => resolved.push(address));
        expect(resolved).toEqual(['node-1.cache.example.com']);
      }
    });
  });

  it.each([
    ['http://cache:6379', /must be one of redis:\/\/host:6379/],
    ['cache:6379', /must be one of/],
    ['redis://', /has no host/],
    ['redis://cache:6379/queues', /only a database number/],
    ['redis://a:6379,b:6379', /use redis\+sentinel:\/\/… or redis\+cluster:\/\//],
    ['redis://cache:99999', /not a valid URL/],
    ['redis://cache :6379', /spaces/],
    ['redis+sentinel://s1:26379,s2:26379', /must name the Sentinel master/],
    ['redis+sentinel://s1:26379/mymaster/1/2', /must name the Sentinel master/],
    ['redis+sentinel://s1:26379/mymaster/one', /database "one": it must be a number/],
    ['redis+sentinel://s1:26379,,s2:26379/mymaster', /empty host/],
    ['redis+sentinel:///mymaster', /empty host/],
    ['redis+sentinel://s1:0/mymaster', /port 0 for host s1/],
    ['redis+sentinel://s1:265790/mymaster', /invalid host "s1:265790"/],
    ['redis+sentinel://s1:port/mymaster', /invalid host "s1:port"/],
    ['redis+sentinel://s1/mymaster?sentinelpassword=x', /unknown option "sentinelpassword": redis\+sentinel:\/\/ takes sentinelPassword, sentinelUsername, tls/],
    ['redis+sentinel://s1/mymaster?tls=maybe', /tls="maybe": use tls=true or tls=false/],
    ['redis+sentinel://:p%zz@s1/mymaster', /malformed percent-encoding in the password/],
    ['redis+sentinel://:p@ss@s1/mymaster', /percent-encode @/],
    ['redis+sentinel://:pa/ss@s1/mymaster', /percent-encode @/],
    ['redis+sentinel://:pa?ss@s1/mymaster', /percent-encode @/],
    ['redis+cluster://n1:7000,n2:7000/1', /only database 0/],
    ['redis+cluster://n1:7000?sentinelPassword=x', /unknown option "sentinelPassword": redis\+cluster:\/\/ takes tls/],
    ['redis+cluster://', /empty host/],
  ])('rejects %s with a one-line reason', (url, reason) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RedisUrlError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toMatch(/\n/);
  });

  it.each(['redis+sentinel://:hunter2@s1:26379', 'redis+sentinel://:hun@ter2@s1/m', 'redis+cluster://:hun/ter2@n1', 'redis+cluster://:hun?ter2@n1'])(
    'never repeats the password of %s in its message',
    (url) => {
      expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
      expect(() => parseRedisUrl(url)).toThrow(/^(?!.*(hunter2|ter2|hun))/);
    },
  );
});

describe('REDIS_URL validation', () => {
  const load = (url: string) => loadConfig({ env: { REDIS_URL: url, SECRETS_ENCRYPTION_KEY: 'a'.repeat(64) } });

  it.each([
    'redis://127.0.0.1:6379',
    'rediss://:pw@cache.example.com:6380/1',
    'redis+sentinel://:pw@s1:26379,s2:26379/mymaster/0?sentinelPassword=x&tls=true',
    'redis+cluster://:pw@n1:7000,n2:7001?tls=true',
  ])('accepts what the parser accepts: %s', (url) => {
    expect(load(url).redisUrl).toBe(url);
  });

  it.each(['redis+sentinel://s1:26379', 'redis+cluster://n1:7000/2', 'redis+sentinel://s1/m?foo=1', 'http://x'])(
    'rejects %s in one line with the parser’s reason',
    (url) => {
      let parserMessage = '';
      try {
        parseRedisUrl(url);
      } catch (error) {
        parserMessage = (error as Error).message;
      }
      expect(parserMessage).not.toBe('');
      expect(() => load(url)).toThrow(`Invalid configuration: REDIS_URL ${parserMessage} (got ${JSON.stringify(url)})`);
    },
  );
});

describe('redactUrl', () => {
  it.each([
    ['redis://:hunter2@cache:6379/0', 'redis://:***@cache:6379/0'],
    ['redis://app:hunter2@cache:6379', 'redis://app:***@cache:6379'],
    ['redis://app@cache:6379', 'redis://app@cache:6379'],
    ['redis+sentinel://:pw@s1,s2/mymaster?sentinelPassword=hunter2&tls=true', 'redis+sentinel://:***@s1,s2/mymaster?sentinelPassword=***&tls=true'],
    ['redis+cluster://n1:7000,n2:7000', 'redis+cluster://n1:7000,n2:7000'],
  ])('%s → %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });
});
