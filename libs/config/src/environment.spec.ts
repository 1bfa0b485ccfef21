import { loadConfig } from './app-config';
import { ENVIRONMENT_VARIABLES } from './environment';

const key = 'a'.repeat(64);
const load = (env: Record<string, string>) => loadConfig({ env: { SECRETS_ENCRYPTION_KEY: key, ...env } });

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = load({});
    expect(config.port).toBe(3000);
    expect(config.workerConcurrency).toBe(100);
    expect(config.deliveryTimeoutMs).toBe(15_000);
    expect(config.deliveryRetryScheduleMs).toHaveLength(7);
    expect(config.deliveryAllowPrivateNetworks).toBe(false);
    expect(config.rateLimitPerMinute).toBe(600);
    expect(config.maxWebhooksPerDepartment).toBe(20);
    expect(config.autoDisableAfterMs).toBe(5 * 86_400_000);
    expect(config.sessionTtlMs).toBe(12 * 3_600_000);
    expect(config.eventRetentionMs).toBe(30 * 86_400_000);
    expect(config.secretsEncryptionKeys).toEqual([Buffer.from(key, 'hex')]);
    expect(config.databaseStatementTimeoutMs).toBe(5000);
    expect(config.databaseConnectTimeoutMs).toBe(5000);
  });

  it('parses typed values', () => {
    const config = load({ PORT: '8080', DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true', DELIVERY_RETRY_SCHEDULE: '1s, 2s' });
    expect(config.port).toBe(8080);
    expect(config.deliveryAllowPrivateNetworks).toBe(true);
    expect(config.deliveryRetryScheduleMs).toEqual([1000, 2000]);
  });

  it.each([
    [undefined, 0],
    ['false', 0],
    ['true', 1],
    ['1', 1],
    ['2', 2],
    ['10', 10],
  ])('TRUST_PROXY=%s trusts %d proxy hops', (value, hops) => {
    expect(load(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy).toBe(hops);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['WORKER_CONCURRENCY', '0'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://x'],
    ['DELIVERY_RETRY_SCHEDULE', '5s,later'],
    ['DELIVERY_ALLOW_PRIVATE_NETWORKS', 'maybe'],
    ['SESSION_TTL', 'forever'],
    ['QUEUE_LOCK_DURATION', '5w'],
    ['EVENT_RETENTION', `${'9'.repeat(400)}d`], // digits and a unit, but no finite number of milliseconds
    ['DELIVERY_RETRY_SCHEDULE', `5s,${'9'.repeat(400)}h`],
    ['SECRETS_ENCRYPTION_KEY', 'short'],
    ['DATABASE_STATEMENT_TIMEOUT', '0'],
    ['TRUST_PROXY', 'maybe'],
    ['TRUST_PROXY', '11'],
    ['TRUST_PROXY', '-1'],
    ['TRUST_PROXY', '1.5'],
    ['DATABASE_CONNECT_TIMEOUT', '2h'],
    ['SECRETS_ENCRYPTION_KEY', `${key},${key}`],
    ['SECRETS_ENCRYPTION_KEY', `${'b'.repeat(64)};${key}`],
  ])('a bad %s stops with one line naming it', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} [^\\n]+$`));
  });

  it.each([
    ['DATABASE_URL', 'mysql://app:hunter2-secret@db/app', 'hunter2-secret'],
    ['REDIS_URL', 'http://:hunter2-secret@cache:6379', 'hunter2-secret'],
    ['SECRETS_ENCRYPTION_KEY', 'hunter2-secret', 'hunter2-secret'],
    ['SECRETS_ENCRYPTION_KEY', `${'b'.repeat(64)},${'c'.repeat(63)}`, 'b'.repeat(64)],
  ])('never shows the secret part of a bad %s', (name, value, secret) => {
    let message = '';
    try {
      load({ [name]: value });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(name);
    expect(message).not.toContain(secret);
  });

  it('says what a duration looks like, naming the variable once', () => {
    expect(() => load({ SESSION_TTL: 'forever' })).toThrow('Invalid configuration: SESSION_TTL must be a duration like 12h (got "forever")');
    expect(() => load({ DELIVERY_RETRY_SCHEDULE: '5s,,5m' })).toThrow(
      'Invalid configuration: DELIVERY_RETRY_SCHEDULE must be a comma-separated list of durations like 5s,5m,30m (got "5s,,5m")',
    );
  });

  it('accepts every duration the parser accepts, and uses its value', () => {
    const config = load({ SWEEPER_GRACE: ' 1.5 m ', EVENT_RETENTION: '2500', DELIVERY_RETRY_SCHEDULE: '250ms, 1.5s ,2m' });
    expect(config.sweeperGraceMs).toBe(90_000);
    expect(config.eventRetentionMs).toBe(2_500);
    expect(config.deliveryRetryScheduleMs).toEqual([250, 1_500, 120_000]);
  });

  it('reads a key ring newest first', () => {
    const newer = Buffer.alloc(32, 7);
    expect(load({ SECRETS_ENCRYPTION_KEY: `${newer.toString('base64')},${key}` }).secretsEncryptionKeys).toEqual([newer, Buffer.from(key, 'hex')]);
  });

  it('requires the connections when asked to', () => {
    expect(() => loadConfig({ requireConnections: true, env: { SECRETS_ENCRYPTION_KEY: key } })).toThrow(/DATABASE_URL is required/);
  });

  it('requires an encryption key in production', () => {
    expect(() => loadConfig({ env: { NODE_ENV: 'production' } })).toThrow(/SECRETS_ENCRYPTION_KEY/);
  });

  it('lists every variable it reads', () => {
    expect(ENVIRONMENT_VARIABLES).toEqual(expect.arrayContaining(['PORT', 'DATABASE_URL', 'EVENT_RETENTION']));
  });
});
