import type { Webhook } from '@pollarix/database';
import { HEADERS_UNREADABLE, type WebhookDto } from './dto/webhook.dto';

/** Entities never leave the API as they are: this is the response shape of SPEC §5. */
export function toWebhookDto(webhook: Webhook): WebhookDto {
  return {
    id: webhook.id,
    name: webhook.name,
    url: webhook.url,
    events: webhook.events,
    headers: webhook.headers,
    isActive: webhook.isActive,
    createdAt: webhook.createdAt.toISOString(),
    updatedAt: webhook.updatedAt.toISOString(),
    disabledReason: webhook.disabledReason,
    ...(webhook.headersUnreadable ? { headersError: HEADERS_UNREADABLE } : {}),
  };
}
