import { loadConfig } from '@pollarix/config';
import { readyBanner } from './ready';

const config = (env: Record<string, string> = {}) => loadConfig({ env: { SECRETS_ENCRYPTION_KEY: 'a'.repeat(64), ...env } });
const tokens = {
  department: { secret: 'plx_department', departments: ['dept_demo'], scopes: ['webhooks:read', 'admin'] },
  operator: { secret: 'plx_operator', departments: ['*'], scopes: ['admin'] },
};
const lines = (text: string) => text.split('\n').map((l) => l.trimEnd());

describe('readyBanner', () => {
  it('prints the department token, then the operator token labelled for the queue dashboard, and where the metrics are', () => {
    const text = lines(readyBanner(config(), tokens));
    expect(text).toEqual(
      expect.arrayContaining([
        '  API token   plx_department',
        '              (department dept_demo; scopes webhooks:read, admin)',
        '  Admin token plx_operator',
        '              (operator: every department *; scope admin;',
        '              for the queue dashboard http://localhost:3000/admin/queues)',
        '  Metrics     http://localhost:9465/metrics (internal port, no token)',
        '  curl -H "Authorization: Bearer plx_department" http://localhost:3000/department/dept_demo/webhook/',
        '  curl -H "Authorization: Bearer plx_operator" http://localhost:3000/admin/queues/api/queues',
      ]),
    );
    // The department token comes first, and is the first thing after "API token": scripts read it so.
    expect(text.findIndex((l) => l.includes('plx_department'))).toBeLessThan(text.findIndex((l) => l.includes('plx_operator')));
    expect(/API token\s+(\S+)/.exec(text.join('\n'))?.[1]).toBe('plx_department');
  });

  it('follows PORT and API_METRICS_PORT, and says where to look when the metrics port is any free one', () => {
    expect(readyBanner(config({ PORT: '8080', API_METRICS_PORT: '9100' }), tokens)).toContain('http://localhost:9100/metrics');
    expect(readyBanner(config({ PORT: '8080' }), tokens)).toContain('http://localhost:8080/admin/queues');
    expect(readyBanner(config({ PORT: '8080' }), tokens)).toContain('Console     http://localhost:8080/console');
    expect(readyBanner(config({ API_METRICS_PORT: '0' }), tokens)).toContain("Metrics     any free port (the API's log says which)");
  });
});
