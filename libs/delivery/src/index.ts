export * from './ssrf';
export * from './signer';
export * from './guarded-connect';
export * from './delivery-resolver';
export * from './loggable-text';
export * from './sender';
export * from './retry-policy';
export * from './delivery.module';
