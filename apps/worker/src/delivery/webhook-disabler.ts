import { Injectable, Logger } from '@nestjs/common';
import { Database } from '@pollarix/database';
import { EventPublisher } from '@pollarix/events';
import { WebhookChanges } from '@pollarix/redis';

/** Turning a webhook off on the receiver's behalf: cancel what is pending and tell the department. */
@Injectable()
export class WebhookDisabler {
  private readonly logger = new Logger(WebhookDisabler.name);

  constructor(
    private readonly db: Database,
    private readonly publisher: EventPublisher,
    private readonly changes: WebhookChanges,
  ) {}

  /** After the webhook was set inactive with `reason` (by this process). */
  async disabled(webhookId: string, departmentId: string, reason: string): Promise<void> {
    const cancelled = await this.db.repos.deliveries.cancelPendingForWebhook(webhookId);
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

  async disable(webhookId: string, departmentId: string, reason: string): Promise<void> {
    if (await this.db.repos.webhooks.disable(webhookId, reason)) await this.disabled(webhookId, departmentId, reason);
  }
}
