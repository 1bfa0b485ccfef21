import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The API's Prometheus families, in a registry of their own (several apps may share a process in
 * tests). Labels stay low-cardinality: method, route pattern, status and event type; never ids or URLs.
 */
@Injectable()
export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'pollarix_http_requests_total',
    help: 'HTTP requests by method, matched route pattern ("unmatched" when none) and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'pollarix_http_request_duration_seconds',
    help: 'HTTP request duration, first byte in to last byte out, by method and matched route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'pollarix_events_published_total',
    help: 'Events accepted by POST /internal/events (202), by type; an id repeated within one request counts once',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pollarix_api_' });
  }

  /**
   * Counts the events of an accepted publish, once per id. A producer's retry of an id in a later
   * request counts again: the publisher does not tell which ids it stored just now.
   */
  recordPublished(events: readonly { id: string; type: string }[]): void {
    const counted = new Set<string>();
    for (const event of events) {
      if (counted.has(event.id)) continue;
      counted.add(event.id);
      this.eventsPublished.inc({ type: event.type });
    }
  }
}
