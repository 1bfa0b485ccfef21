export * from './states';
export * from './attempt';
export * from './failure-streak';
export * from './refusal';
export * from './delivery-lifecycle';
