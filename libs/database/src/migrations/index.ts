import { InitialSchema1764180000000 } from './1764180000000-InitialSchema';
import { DeliveryLog1764205000000 } from './1764205000000-DeliveryLog';
import { DropUnusedAttemptIndex1764230000000 } from './1764230000000-DropUnusedAttemptIndex';
import { LeanDeliveryLog1764240000000 } from './1764240000000-LeanDeliveryLog';
import { DueIndex1764250000000 } from './1764250000000-DueIndex';
import { AttemptChains1764260000000 } from './1764260000000-AttemptChains';
import { WebhookAttemptedIndex1764270000000 } from './1764270000000-WebhookAttemptedIndex';

/** Every migration in order; `npm run migration:generate -- <Name>` appends new ones here. */
export const MIGRATIONS = [
  InitialSchema1764180000000,
  DeliveryLog1764205000000,
  DropUnusedAttemptIndex1764230000000,
  LeanDeliveryLog1764240000000,
  DueIndex1764250000000,
  AttemptChains1764260000000,
  WebhookAttemptedIndex1764270000000,
];
