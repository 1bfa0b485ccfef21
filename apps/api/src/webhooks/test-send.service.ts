import { Injectable, Logger } from '@nestjs/common';
import { AppError, ErrorCode, newId } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { Database } from '@pollarix/database';
import { SendResult, signingHeaders, WebhookSender } from '@pollarix/delivery';
import { TestSendDto, TestSendResultDto } from './dto/webhook.dto';
import { WebhooksService, webhookNotFound } from './webhooks.service';

/** Sends a WEBHOOK_TEST event now, with the sender, timeout and SSRF rules of real deliveries. */
@Injectable()
export class TestSendService {
  private readonly logger = new Logger(TestSendService.name);

  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly sender: WebhookSender,
    private readonly webhooks: WebhooksService,
  ) {}

  async send(departmentId: string, dto: TestSendDto): Promise<TestSendResultDto> {
    this.webhooks.assertAllowedDestination(dto.url);
    let headers: Record<string, string> = { ...(dto.headers ?? {}) };
    let secrets: string[] = [];
    if (dto.webhookId !== undefined) {
      // One read for the headers and the signing secrets; another department's webhook is not found.
      const target = await this.db.repos.webhooks.findForDelivery(dto.webhookId);
      if (!target || target.webhook.departmentId !== departmentId) throw webhookNotFound(dto.webhookId);
      // Headers given in the request override the webhook's, to try a change before saving it.
      headers = { ...target.webhook.headers, ...headers };
      secrets = target.secrets;
    }

    const body = JSON.stringify({
      id: newId('evt'),
      type: 'WEBHOOK_TEST',
      timestamp: new Date().toISOString(),
      departmentId,
      data: { message: 'Test event from Pollarix Webhooks', ...(dto.webhookId ? { webhookId: dto.webhookId } : {}) },
    });
    const msgId = newId('msg');
    const identity = secrets.length > 0 ? signingHeaders(secrets, msgId, body) : { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };

    const result = await this.sender.send({
      url: dto.url,
      body,
      headers: { ...headers, ...identity },
      timeoutMs: this.config.deliveryTimeoutMs,
    });
    if (result.ok) return { delivered: true, statusCode: result.statusCode!, durationMs: result.durationMs };
    if (result.error === 'blocked_destination') {
      // The customer is told it is refused; which internal address the name resolves to is for operators.
      this.logger.warn({
        msg: 'test-send to a blocked destination',
        departmentId,
        host: new URL(dto.url).hostname,
        blockedAddress: result.blockedAddress,
        blockedReason: result.blockedReason,
      });
    }
    throw failure(result);
  }
}

function failure(result: SendResult): AppError {
  if (result.error === 'blocked_destination') {
    return AppError.field(ErrorCode.BlockedDestination, ['body', 'url'], result.errorMessage ?? 'The destination is not allowed');
  }
  const msg = result.error === null ? `Receiver answered HTTP ${result.statusCode} (a 2xx is required)` : `Delivery failed (${result.error}): ${result.errorMessage}`;
  return new AppError(ErrorCode.DeliveryFailed, msg);
}
