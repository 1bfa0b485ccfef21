export * from './redis-connection';
export * from './redis-settings';
export * from './redis.module';
export * from './redis.health';
export * from './readiness';
export * from './webhook-changes';
