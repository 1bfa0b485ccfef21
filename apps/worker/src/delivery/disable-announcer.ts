import { Injectable, Logger } from '@nestjs/common';
import { EventPublisher } from '@pollarix/events';
import type { WebhookDisabled } from '@pollarix/lifecycle';
import { WebhookChanges } from '@pollarix/redis';

/** Tells everyone that the delivery lifecycle turned a webhook off on the receiver's behalf: the API's caches and the department. */
@Injectable()
export class DisableAnnouncer {
  private readonly logger = new Logger(DisableAnnouncer.name);

  constructor(
    private readonly publisher: EventPublisher,
    private readonly changes: WebhookChanges,
  ) {}

  async announce({ webhookId, departmentId, reason, cancelled }: WebhookDisabled): Promise<void> {
    this.logger.warn(`Webhook ${webhookId} of ${departmentId} disabled (${reason}); ${cancelled} pending deliveries cancelled`);
    await this.changes.changed(departmentId);
    await this.publisher.publish(
      {
        type: 'WEBHOOK_DISABLED',
        departmentId,
        data: { webhookId, reason, disabledAt: new Date().toISOString() },
      },
      { serviceTypes: true },
    );
  }
}
