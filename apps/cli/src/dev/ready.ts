import { AppConfig } from '@pollarix/config';
import { request } from 'node:http';

/** Whether an HTTP server answers on host:port (any status: /health/live may not exist yet). */
export function httpAnswers(host: string, port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/** Where to reach the API from this machine: the wildcard listen addresses mean loopback. */
export function probeHost(config: AppConfig): string {
  return ['0.0.0.0', '::', ''].includes(config.host) ? '127.0.0.1' : config.host;
}

/** A token `npm start` issued, as the banner shows it. */
export interface IssuedToken {
  secret: string;
  departments: readonly string[];
  scopes: readonly string[];
}

/** What `npm start` prints once the API answers: where things are, and the two tokens it issued. */
export function readyBanner(config: AppConfig, tokens: { department: IssuedToken; operator: IssuedToken }): string {
  const base = `http://localhost:${config.port}`;
  const rule = '='.repeat(78);
  const { department, operator } = tokens;
  const metrics = config.apiMetricsPort === 0 ? "any free port (the API's log says which)" : `http://localhost:${config.apiMetricsPort}/metrics`;
  return [
    '',
    rule,
    '  Pollarix Webhooks is running',
    '',
    `  API         ${base}`,
    `  API docs    ${base}/docs`,
    `  Console     ${base}/console  (sign in with a token printed below)`,
    `  API token   ${department.secret}`,
    `              (department ${department.departments.join(', ')}; scopes ${department.scopes.join(', ')})`,
    `  Admin token ${operator.secret}`,
    `              (operator: every department ${operator.departments.join(', ')}; scope ${operator.scopes.join(', ')};`,
    `              for the queue dashboard ${base}/admin/queues)`,
    `  Metrics     ${metrics} (internal port, no token)`,
    '',
    '  Try it:',
    `  curl -H "Authorization: Bearer ${department.secret}" ${base}/department/${department.departments[0]}/webhook/`,
    `  curl -H "Authorization: Bearer ${operator.secret}" ${base}/admin/queues/api/queues`,
    '',
    '  Press Ctrl-C to stop.',
    rule,
    '',
  ].join('\n');
}
