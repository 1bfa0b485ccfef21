import { Module } from '@nestjs/common';
import { ApiMetrics } from './api-metrics';
import { HttpMetricsMiddleware } from './http-metrics.middleware';
import { MetricsController } from './metrics.controller';

/** GET /metrics and the families behind it; app.ts installs HttpMetricsMiddleware ahead of the body parsers. */
@Module({
  controllers: [MetricsController],
  providers: [ApiMetrics, HttpMetricsMiddleware],
  exports: [ApiMetrics, HttpMetricsMiddleware],
})
export class MetricsModule {}
