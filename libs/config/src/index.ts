export * from './app-config';
export * from './config.module';
export * from './duration';
export { ConfigError, ENVIRONMENT_VARIABLES, EnvironmentVariables } from './environment';
export * from './process-flags';
export * from './redis-url';
