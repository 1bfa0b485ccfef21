import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { Readiness, RedisHealthIndicator } from '@pollarix/redis';

/** GET /health/live and /health/ready (@nestjs/terminus; its failure log goes through the app's logger). */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, Readiness],
})
export class HealthModule {}
