import { Injectable } from '@nestjs/common';
import { SecretBox } from '@pollarix/common';
import { AppConfig } from '@pollarix/config';
import { DataSource, EntityManager } from 'typeorm';
import { ApiTokenRepository } from './repositories/api-token.repository';
import { DeliveryRepository } from './repositories/delivery.repository';
import { EventRepository } from './repositories/event.repository';
import { IdempotencyRepository } from './repositories/idempotency.repository';
import { WebhookRepository } from './repositories/webhook.repository';

/** The repositories, bound to one EntityManager (the pool, or a transaction). */
export class Repositories {
  readonly webhooks: WebhookRepository;
  readonly tokens: ApiTokenRepository;
  readonly idempotency: IdempotencyRepository;
  readonly events: EventRepository;
  readonly deliveries: DeliveryRepository;

  constructor(manager: EntityManager, box: SecretBox) {
    this.webhooks = new WebhookRepository(manager, box);
    this.tokens = new ApiTokenRepository(manager);
    this.idempotency = new IdempotencyRepository(manager, box);
    this.events = new EventRepository(manager);
    this.deliveries = new DeliveryRepository(manager);
  }
}

/** Entry point to persistence: `db.repos` for single statements, `db.transaction()` for units of work. */
@Injectable()
export class Database {
  readonly repos: Repositories;
  private readonly box: SecretBox;

  constructor(
    readonly dataSource: DataSource,
    config: AppConfig,
  ) {
    this.box = new SecretBox(config.secretsEncryptionKeys);
    this.repos = new Repositories(dataSource.manager, this.box);
  }

  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(new Repositories(manager, this.box)));
  }

  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }
}
