export * from './ssrf';
export * from './signer';
export * from './guarded-connect';
export * from './sender';
export * from './retry-policy';
export * from './delivery.module';
