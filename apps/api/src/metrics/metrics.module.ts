import { Module } from '@nestjs/common';
import { ApiMetrics } from './api-metrics';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { ApiMetricsServer } from './metrics-server';

/**
 * The API's families and their internal /metrics port (API_METRICS_PORT; the public port has no
 * /metrics); app.ts installs HttpMetricsMiddleware ahead of the body parsers.
 */
@Module({
  providers: [ApiMetrics, HttpMetricsMiddleware, ApiMetricsServer],
  exports: [ApiMetrics, HttpMetricsMiddleware, ApiMetricsServer],
})
export class MetricsModule {}
