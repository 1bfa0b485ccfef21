import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { USER_AGENT } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { WebhookSender } from './sender';

@Injectable()
class SenderCloser implements OnApplicationShutdown {
  constructor(@Inject(WebhookSender) private readonly sender: WebhookSender) {}

  async onApplicationShutdown(): Promise<void> {
    await this.sender.close();
  }
}

/** The process's one WebhookSender (one keep-alive pool), shared by test-send and deliveries. */
@Global()
@Module({
  providers: [
    {
      provide: WebhookSender,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new WebhookSender({ allowPrivateNetworks: config.deliveryAllowPrivateNetworks, userAgent: USER_AGENT }),
    },
    SenderCloser,
  ],
  exports: [WebhookSender],
})
export class DeliveryModule {}
