import { loadConfig } from './app-config';
import { ConfigError } from './environment';

const load = (env: Record<string, string>) => loadConfig({ env: { SECRETS_ENCRYPTION_KEY: 'a'.repeat(64), ...env } });

describe('the API metrics port', () => {
  it('is 9465 by default, apart from PORT 3000 and WORKER_HTTP_PORT 9464', () => {
    const config = load({});
    expect([config.port, config.workerHttpPort, config.apiMetricsPort]).toEqual([3000, 9464, 9465]);
  });

  it('takes a port, or 0 for any free port (as WORKER_HTTP_PORT)', () => {
    expect(load({ API_METRICS_PORT: '9100' }).apiMetricsPort).toBe(9100);
    expect(load({ API_METRICS_PORT: '0', PORT: '0' }).apiMetricsPort).toBe(0);
  });

  it.each([
    ['70000', {}],
    ['-1', {}],
    ['metrics', {}],
    ['3000', {}],
    ['8080', { PORT: '8080' }],
  ])('refuses %p (%p) with one line naming the variable', (value, env) => {
    expect(() => load({ ...env, API_METRICS_PORT: value })).toThrow(ConfigError);
    expect(() => load({ ...env, API_METRICS_PORT: value })).toThrow(/API_METRICS_PORT/);
  });

  it('refuses PORT on the default metrics port, as it would meet it at start-up', () => {
    expect(() => load({ PORT: '9465' })).toThrow(/API_METRICS_PORT must differ from PORT/);
    expect(load({ PORT: '9465', API_METRICS_PORT: '9466' }).apiMetricsPort).toBe(9466);
  });
});
