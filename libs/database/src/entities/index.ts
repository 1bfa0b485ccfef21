import { ApiTokenEntity } from './api-token.entity';
import { DeliveryAttemptEntity } from './delivery-attempt.entity';
import { DeliveryEntity } from './delivery.entity';
import { EventEntity } from './event.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { WebhookEntity } from './webhook.entity';

export * from './api-token.entity';
export * from './delivery-attempt.entity';
export * from './delivery.entity';
export * from './event.entity';
export * from './idempotency-key.entity';
export * from './webhook.entity';

/** Every entity, listed (not globbed) so the bundled apps and the TypeORM CLI see the same set. */
export const ENTITIES = [ApiTokenEntity, WebhookEntity, IdempotencyKeyEntity, EventEntity, DeliveryEntity, DeliveryAttemptEntity];
