import type { Request } from 'express';
import { isProbePath, pathOnly, routeLabel, UNMATCHED_ROUTE } from './route-label';

const req = (originalUrl: string, routePath?: unknown, baseUrl = ''): Request =>
  ({ originalUrl, url: originalUrl, baseUrl, route: routePath === undefined ? undefined : { path: routePath } }) as unknown as Request;

describe('routeLabel', () => {
  it('is the matched route pattern, never the path with its ids or query', () => {
    expect(routeLabel(req('/department/d1/webhook/wh_1?x=1', '/department/:departmentId/webhook/:webhookId'))).toBe('/department/:departmentId/webhook/:webhookId');
  });

  it('is "unmatched" without a route, or when only a catch-all middleware registration matched', () => {
    expect(routeLabel(req('/nope/123'))).toBe(UNMATCHED_ROUTE);
    expect(routeLabel(req('/nope/123', '/{*path}'))).toBe(UNMATCHED_ROUTE);
    expect(routeLabel(req('/nope', /regex/))).toBe(UNMATCHED_ROUTE);
  });

  it('labels everything under a mounted sub-app with its mount path', () => {
    expect(routeLabel(req('/admin/queues'))).toBe('/admin/queues');
    expect(routeLabel(req('/admin/queues/api/queues/deliveries?page=2', '/api/queues/:queueName'))).toBe('/admin/queues');
    expect(routeLabel(req('/docs/swagger-ui.css'))).toBe('/docs');
    expect(routeLabel(req('/console/assets/index-abc123.js'))).toBe('/console');
    expect(routeLabel(req('/console'))).toBe('/console');
    expect(routeLabel(req('/docs-json', '/docs-json'))).toBe('/docs-json');
    expect(routeLabel(req('/admin/queuesX'))).toBe(UNMATCHED_ROUTE);
  });
});

describe('pathOnly', () => {
  it('drops the query string', () => {
    expect(pathOnly('/a/b?token=secret&x=1')).toBe('/a/b');
    expect(pathOnly('/a/b')).toBe('/a/b');
  });
});

describe('isProbePath', () => {
  it('is the health probes only: /metrics lives on API_METRICS_PORT, and on the public port is a request like any other', () => {
    expect(isProbePath('/health/ready?x=1')).toBe(true);
    expect(isProbePath('/health')).toBe(true);
    expect(isProbePath('/metrics')).toBe(false);
    expect(isProbePath('/healthz')).toBe(false);
  });
});
