export * from './crypto/secret-box';
export * from './errors/app-error';
export * from './errors/exception.filter';
export * from './http/http-pipeline';
export * from './http/validation';
export * from './ids';
export * from './version';
export * from './logging/logger';
