/** The console's only way to the server: the public API, with the session cookie and the CSRF header. */

export interface ErrorDetail {
  msg: string;
  type: string;
  loc?: (string | number)[];
}

/** An API error as the API wrote it: {"status", "detail": [{msg, type, loc?}]}. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: ErrorDetail[],
  ) {
    super(detail.map((d) => d.msg).join('; ') || `HTTP ${status}`);
  }

  /** The messages about one body field (loc ['body', field, …]). */
  about(field: string): string[] {
    return this.detail.filter((d) => d.loc?.[0] === 'body' && d.loc[1] === field).map((d) => d.msg);
  }

  /** The messages about no particular field. */
  general(fields: readonly string[]): string[] {
    return this.detail.filter((d) => !(d.loc?.[0] === 'body' && fields.includes(String(d.loc[1])))).map((d) => d.msg);
  }
}

/** Over HTTPS the API names its cookies with the __Host- prefix (apps/api/src/auth/credentials.ts). */
function csrfToken(): string | undefined {
  const name = location.protocol === 'https:' ? '__Host-pollarix_csrf' : 'pollarix_csrf';
  for (const part of document.cookie.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** Dispatched on window when a request answers 401: the session is gone. */
export const SIGNED_OUT_EVENT = 'pollarix:signed-out';

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const csrf = csrfToken();
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, [{ msg: 'The API did not answer: check your connection', type: 'network' }]);
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  // The session expired or was ended elsewhere: the console goes back to its sign-in screen.
  if (res.status === 401 && path !== endpoints.session) dispatchEvent(new Event(SIGNED_OUT_EVENT));
  if (!res.ok) {
    const detail = (parsed as { detail?: unknown } | undefined)?.detail;
    throw new ApiError(res.status, Array.isArray(detail) ? (detail as ErrorDetail[]) : [{ msg: `HTTP ${res.status} ${res.statusText}`, type: 'http' }]);
  }
  return parsed as T;
}

export interface SessionInfo {
  departments: string[];
  scopes: string[];
}

export interface Webhook {
  id: string;
  name: string;
  url: string;
  events: string[];
  headers: Record<string, string>;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
  disabledReason: string | null;
  /** Present when the stored custom headers no longer decrypt. */
  headersError?: string;
}

export interface EventType {
  type: string;
  description: string;
  subscribable: boolean;
}

export interface TestSendResult {
  delivered: boolean;
  statusCode: number;
  durationMs: number;
}

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface DeliverySummary {
  id: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
}

export interface Attempt {
  attempt: number;
  requestedAt: string;
  durationMs: number;
  statusCode: number | null;
  responseBody: string;
  responseBodyTruncated: boolean;
  error: string | null;
  errorMessage: string | null;
}

export interface DeliveryDetail extends Omit<DeliverySummary, 'attempts'> {
  payload: Record<string, unknown>;
  attempts: Attempt[];
}

export interface StatsBucket {
  start: string;
  deliveries: Record<DeliveryStatus, number>;
  attempts: number;
  latencyMs: { p50: number; p95: number } | null;
}

export interface Stats {
  since: string;
  until: string;
  bucketSeconds: number;
  buckets: StatsBucket[];
}

const dept = (id: string) => `/department/${encodeURIComponent(id)}/webhook`;
const hook = (d: string, w: string) => `${dept(d)}/${encodeURIComponent(w)}`;

export const endpoints = {
  session: '/auth/session',
  eventTypes: '/events/types',
  webhooks: (d: string) => `${dept(d)}/`,
  webhook: hook,
  testSend: (d: string) => `${dept(d)}/test-send`,
  rotate: (d: string, w: string) => `${hook(d, w)}/secret/rotate`,
  deliveries: (d: string, w: string, query: URLSearchParams) => `${hook(d, w)}/deliveries?${query.toString()}`,
  delivery: (d: string, w: string, id: string) => `${hook(d, w)}/deliveries/${encodeURIComponent(id)}`,
  redeliver: (d: string, w: string, id: string) => `${hook(d, w)}/deliveries/${encodeURIComponent(id)}/redeliver`,
  recover: (d: string, w: string) => `${hook(d, w)}/recover`,
  stats: (d: string, w: string) => `${hook(d, w)}/stats`,
};
