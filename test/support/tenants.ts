import { call, TestApi, uniqueDepartment } from './api-harness';
import { countByWebhookId } from './hostile-receivers';
import { waitUntil } from './system';

/** Departments, webhooks and their delivery log through the real API, for the multi-tenant system tests. */

export const completedData = { surveyId: 'srv_1', responseId: 'rsp_1', completedAt: '2026-11-26T10:00:00.000Z' };

export interface Tenant {
  dept: string;
  token: string;
  webhookIds: string[];
}

export interface DeliverySummary {
  id: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
}

export interface AttemptDetail {
  attempt: number;
  durationMs: number;
  statusCode: number | null;
  responseBody: string;
  responseBodyTruncated: boolean;
  error: string | null;
  errorMessage: string | null;
  responseContentType: string | null;
}

export interface DeliveryDetail {
  id: string;
  status: string;
  attempts: AttemptDetail[];
}

/** A new department with one webhook (subscribed to SURVEY_COMPLETED) per URL. */
export async function createTenant(api: TestApi, urls: string[], label = 'dept'): Promise<Tenant> {
  const dept = uniqueDepartment(label);
  const token = await api.token([dept]);
  const webhookIds: string[] = [];
  for (const [i, url] of urls.entries()) {
    const res = await call(api.baseUrl, 'POST', `/department/${dept}/webhook/`, { token, body: { name: `hook ${i}`, url, events: ['SURVEY_COMPLETED'] } });
    if (res.status !== 201) throw new Error(`creating a webhook to ${url}: ${res.status} ${JSON.stringify(res.body)}`);
    webhookIds.push(res.body.webhooks[0].id);
  }
  return { dept, token, webhookIds };
}

/** Publishes `count` SURVEY_COMPLETED events to the department in batches of at most 500 (one POST each). */
export async function publishEvents(api: TestApi, publisher: string, dept: string, count: number, data: object = completedData): Promise<void> {
  for (let done = 0; done < count; done += 500) {
    const n = Math.min(500, count - done);
    const res = await call(api.baseUrl, 'POST', '/internal/events/batch', {
      token: publisher,
      body: { events: Array.from({ length: n }, () => ({ type: 'SURVEY_COMPLETED', departmentId: dept, data })) },
    });
    if (res.status !== 202) throw new Error(`publishing to ${dept}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

/** Every delivery of a webhook (all pages). */
export async function listDeliveries(api: TestApi, tenant: Tenant, webhookId: string): Promise<DeliverySummary[]> {
  const all: DeliverySummary[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await call(api.baseUrl, 'GET', `/department/${tenant.dept}/webhook/${webhookId}/deliveries?${query}`, { token: tenant.token });
    if (res.status !== 200) throw new Error(`listing deliveries: ${res.status} ${JSON.stringify(res.body)}`);
    all.push(...res.body.deliveries);
    cursor = res.body.nextCursor;
  } while (cursor);
  return all;
}

export async function deliveryDetail(api: TestApi, tenant: Tenant, webhookId: string, deliveryId: string): Promise<DeliveryDetail> {
  const res = await call(api.baseUrl, 'GET', `/department/${tenant.dept}/webhook/${webhookId}/deliveries/${deliveryId}`, { token: tenant.token });
  if (res.status !== 200) throw new Error(`delivery detail: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A short, readable account of a webhook's log for failure messages: "succeeded×3 pending×17". */
export function describeStatuses(deliveries: DeliverySummary[]): string {
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${status}×${n}`).join(' ') || 'none';
}

/**
 * The other department did not notice: within `boundMs` of `publishedAt`, all `expected` deliveries of
 * its webhook are `succeeded` after exactly one attempt each, and its receiver saw each webhook-id
 * exactly once (a healthy receiver answering at once leaves at-least-once no reason to send twice).
 * Returns how long it took (ms from publishedAt).
 */
export async function expectUndisturbed(
  api: TestApi,
  tenant: Tenant,
  receiver: { requests: { webhookId: string }[] },
  expected: number,
  publishedAt: number,
  boundMs: number,
): Promise<number> {
  const webhookId = tenant.webhookIds[0];
  let last: DeliverySummary[] = [];
  const remaining = Math.max(0, publishedAt + boundMs - Date.now());
  await waitUntil(
    `all ${expected} deliveries of the other department succeeded within ${boundMs} ms`,
    async () => {
      last = await listDeliveries(api, tenant, webhookId);
      return last.length === expected && last.every((d) => d.status === 'succeeded');
    },
    remaining,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message} (log: ${describeStatuses(last)}; receiver saw ${receiver.requests.length} requests)`);
  });
  const took = Date.now() - publishedAt;
  const ids = countByWebhookId(receiver.requests);
  const duplicates = [...ids].filter(([, n]) => n > 1).length;
  if (duplicates > 0 || ids.size !== expected || receiver.requests.length !== expected) {
    throw new Error(
      `the other department's receiver saw ${receiver.requests.length} requests for ${ids.size} webhook-ids (${duplicates} sent more than once); expected ${expected} once each`,
    );
  }
  const logged = new Set(last.map((d) => d.id));
  const missing = [...ids.keys()].filter((id) => !logged.has(id));
  const notOneAttempt = last.filter((d) => d.attempts !== 1);
  if (missing.length > 0 || notOneAttempt.length > 0) {
    throw new Error(`the other department's log: ${missing.length} received ids missing, ${notOneAttempt.length} deliveries with attempts != 1`);
  }
  return took;
}
