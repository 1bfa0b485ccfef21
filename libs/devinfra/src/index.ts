export * from './ports';
export * from './postgres';
export * from './postgres-placement';
export * from './redis';
export * from './stack';
