import { Controller, Get, HttpCode } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AppError, ErrorCode } from '@pollarix/common';
import { Readiness } from '@pollarix/redis';

interface ReadyBody {
  status: 'ok';
  checks: Record<string, string>;
}

/** Liveness (the process answers) and readiness (PostgreSQL and Redis answer), by terminus. No auth. */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 `{status: "ok", checks: {postgresql: "up", redis: "up"}}`; else 503 in the API's error format. */
  @Get('ready')
  async ready(): Promise<ReadyBody> {
    const { status, checks, reasons } = await this.readiness.check();
    if (status === 'shutting_down') throw new AppError(ErrorCode.Unavailable, 'Not ready: shutting down');
    if (status !== 'ok') {
      // One detail per dependency that is down, saying why: "Not ready: postgresql: timeout of 2000ms exceeded".
      throw new AppError(
        ErrorCode.Unavailable,
        Object.entries(reasons ?? {}).map(([name, reason]) => ({ msg: `Not ready: ${name}: ${reason}`, type: ErrorCode.Unavailable, loc: ['health', name] })),
      );
    }
    return { status, checks };
  }
}
