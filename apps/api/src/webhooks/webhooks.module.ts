import { Module } from '@nestjs/common';
import { WebhookChanges } from '@pollarix/redis';
import { AuthModule } from '../auth/auth.module';
import { DeliveriesModule } from '../deliveries/deliveries.module';
import { TestSendLimiter } from '../rate-limit/test-send.limiter';
import { TestSendService } from './test-send.service';
import { WebhooksController } from './webhooks.controller';
import { WebhookListCache } from './webhook-list.cache';
import { WebhooksService } from './webhooks.service';

@Module({
  imports: [AuthModule, DeliveriesModule],
  controllers: [WebhooksController],
  providers: [WebhooksService, TestSendService, TestSendLimiter, WebhookListCache, WebhookChanges],
})
export class WebhooksModule {}
