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

export function readyBanner(config: AppConfig, token: { secret: string; department: string; scopes: readonly string[] }): string {
  const base = `http://localhost:${config.port}`;
  const rule = '='.repeat(78);
  return [
    '',
    rule,
    '  Pollarix Webhooks is running',
    '',
    `  API         ${base}`,
    `  API docs    ${base}/docs`,
    `  API token   ${token.secret}`,
    `              (department ${token.department}; scopes ${token.scopes.join(', ')})`,
    '',
    '  Try it:',
    `  curl -H "Authorization: Bearer ${token.secret}" ${base}/department/${token.department}/webhook/`,
    '',
    '  Press Ctrl-C to stop.',
    rule,
    '',
  ].join('\n');
}
