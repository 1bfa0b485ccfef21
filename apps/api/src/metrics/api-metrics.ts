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
    help: 'Events stored by POST /internal/events(/batch), by type; a repeated id counts once',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pollarix_api_' });
  }

  /** Counts the events a publish stored now (an id already stored, a producer's retry, counts once in all). */
  recordPublished(stored: readonly { type: string }[]): void {
    for (const event of stored) this.eventsPublished.inc({ type: event.type });
  }
}
