export * from './catalog';
export * from './envelope';
export * from './event-validation';
export * from './publisher';
export * from './publisher.module';
