import type { INestApplication } from '@nestjs/common';
import { ApiAppOptions, createApiApp } from '../../apps/api/src/app';
import { ApiMetricsServer } from '../../apps/api/src/metrics/metrics-server';
import { CreateTokenInput, TOKEN_REVOKED_CHANNEL, TokenService } from '@pollarix/auth';
import { AppConfig, loadConfig } from '@pollarix/config';
import { Database, TokenScope } from '@pollarix/database';
import { REDIS, RedisConnection } from '@pollarix/redis';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { uniqueName } from './infra';

export interface TestApi {
  app: INestApplication;
  config: AppConfig;
  baseUrl: string;
  /** The API's internal metrics port (API_METRICS_PORT, any free port here): `${metricsUrl}/metrics`. */
  metricsUrl: string;
  db: Database;
  redis: RedisConnection;
  /** A new token's secret for these departments and scopes (all webhook scopes by default). */
  token(departments: string[], scopes?: TokenScope[]): Promise<string>;
  /** Revokes like the CLI does: in PostgreSQL, then announced to every API process. */
  revoke(secret: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real API in-process on a loopback port, against the suite's PostgreSQL and Redis. passport
 * keeps strategies process-wide, so several apps in one test file must stay open until the end.
 * Logs are silent unless LOG_LEVEL is overridden; `options.logDestination` captures the JSON lines.
 */
export async function startApi(overrides: Record<string, string> = {}, options: ApiAppOptions = {}): Promise<TestApi> {
  // Any free metrics port: test files run side by side, and several apps share one file.
  const config = loadConfig({ requireConnections: true, env: { ...process.env, LOG_LEVEL: 'silent', API_METRICS_PORT: '0', ...overrides } });
  const app = await createApiApp(config, options);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const db = app.get(Database);
  const redis = app.get<RedisConnection>(REDIS);
  const tokens = new TokenService(db.repos);
  const created = new Map<string, string>();
  return {
    app,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${app.get(ApiMetricsServer).port}`,
    db,
    redis,
    async token(departments, scopes = ['webhooks:read', 'webhooks:write']) {
      const input: CreateTokenInput = { departments, scopes, name: 'test' };
      const { token, secret } = await tokens.create(input);
      created.set(secret, token.id);
      return secret;
    },
    async revoke(secret) {
      const id = created.get(secret)!;
      await tokens.revoke(id);
      await redis.publish(TOKEN_REVOKED_CHANNEL, id);
    },
    close: () => app.close(),
  };
}

/** A department id no other test uses. */
export function uniqueDepartment(label = 'dept'): string {
  return uniqueName(label);
}

/** A client address (X-Forwarded-For behind TRUST_PROXY) no other run shares: the rate limits live 60 s in the suite's Redis. */
export const uniqueAddress = (): string => `2001:db8:${randomBytes(2).toString('hex')}::${randomBytes(2).toString('hex')}`;

/** A session opened as the console does: the Cookie header to send back, its CSRF token, and the Set-Cookie lines. */
export interface OpenedSession {
  cookie: string;
  csrf: string;
  setCookie: string[];
}

/** POST /auth/session with `token` (and `headers`, e.g. X-Forwarded-Proto); expects 204. Reads the plain and the __Host- cookie names. */
export async function openSession(baseUrl: string, token: string, headers: Record<string, string> = {}): Promise<OpenedSession> {
  const res = await fetch(`${baseUrl}/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(204);
  const setCookie = res.headers.getSetCookie();
  const pairs = setCookie.map((c) => c.split(';')[0]);
  const csrf = pairs.find((p) => /^(__Host-)?pollarix_csrf=/.test(p))!.split('=')[1];
  return { cookie: pairs.join('; '), csrf, setCookie };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a response body is untyped JSON; tests read the fields they assert on
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** fetch with a JSON body and a parsed answer; `raw` sends a body string as it is. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as JsonResponse: untyped JSON unless the caller names a type
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text: some tests look at non-JSON answers
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
