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
    expect(config.secretsEncryptionKey).toHaveLength(32);
  });

  it('parses typed values', () => {
    const config = load({ PORT: '8080', DELIVERY_ALLOW_PRIVATE_NETWORKS: 'true', DELIVERY_RETRY_SCHEDULE: '1s, 2s' });
    expect(config.port).toBe(8080);
    expect(config.deliveryAllowPrivateNetworks).toBe(true);
    expect(config.deliveryRetryScheduleMs).toEqual([1000, 2000]);
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
    ['SECRETS_ENCRYPTION_KEY', 'short'],
  ])('a bad %s stops with one line naming it', (name, value) => {
    expect(() => load({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} [^\\n]+$`));
  });

  it.each([
    ['DATABASE_URL', 'mysql://app:hunter2-secret@db/app', 'hunter2-secret'],
    ['REDIS_URL', 'http://:hunter2-secret@cache:6379', 'hunter2-secret'],
    ['SECRETS_ENCRYPTION_KEY', 'hunter2-secret', 'hunter2-secret'],
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
