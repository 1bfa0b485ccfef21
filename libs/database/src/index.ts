export * from './data-source-options';
export * from './database';
export * from './database.module';
export * from './entities';
export * from './migrations';
export * from './repositories/api-token.repository';
export * from './repositories/idempotency.repository';
export * from './repositories/webhook.repository';
