import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { ApiMetrics } from './api-metrics';
import { routeLabel } from './route-label';

/**
 * Counts and times every request, errors and 404s included. Registered with the first global
 * middlewares (app.ts), so that requests refused before routing are counted too. The route label is
 * read when the response is done, once Express has matched the route.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: ApiMetrics) {}

  use = (req: Request, res: Response, next: NextFunction): void => {
    const stopTimer = this.metrics.httpDuration.startTimer();
    // 'close' fires once per response, finished or aborted by the client.
    res.once('close', () => {
      const route = routeLabel(req);
      stopTimer({ method: req.method, route });
      this.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
