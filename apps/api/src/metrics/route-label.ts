import type { Request } from 'express';
import { CONSOLE_PATH } from '../console/console';

/** Where the queue dashboard is mounted; its own sub-routes all count as this one route. */
export const ADMIN_QUEUES_PATH = '/admin/queues';
/** Express sub-apps (bull-board, Swagger UI's assets, the console's files): everything under one is labelled with its mount path. */
const MOUNTS = [ADMIN_QUEUES_PATH, '/docs', CONSOLE_PATH];
/** The label of requests that matched no route: 404s, and requests refused before routing (413, 415, 429). */
export const UNMATCHED_ROUTE = 'unmatched';

const labels = new WeakMap<Request, string>();

/**
 * The matched route's pattern (`/department/:departmentId/webhook/:webhookId`), never the raw URL:
 * metric labels and log fields stay low-cardinality and free of ids and query strings. Read once the
 * response is done (routing has happened); the request log and the metrics share one computation.
 */
export function routeLabel(req: Request): string {
  let label = labels.get(req);
  if (label === undefined) labels.set(req, (label = matchedRoute(req)));
  return label;
}

function matchedRoute(req: Request): string {
  const path = pathOnly(req.originalUrl ?? req.url);
  const mount = MOUNTS.find((m) => path === m || path.startsWith(`${m}/`));
  if (mount) return mount;
  const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
  // A catch-all (`/{*path}`) is a middleware's registration, not a controller's route: nothing matched.
  if (typeof pattern !== 'string' || pattern.includes('*')) return UNMATCHED_ROUTE;
  return `${req.baseUrl ?? ''}${pattern}`;
}

/**
 * Health probes (matched on the original URL: a middleware's req.path is relative to its mount). Metric
 * scrapes go to API_METRICS_PORT: on the public port /metrics is a 404 like any other, and counted.
 */
export function isProbePath(url: string): boolean {
  return /^\/health(\/|$)/.test(pathOnly(url));
}

/** The path of a URL without its query string (which may carry tokens or other secrets). */
export function pathOnly(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
