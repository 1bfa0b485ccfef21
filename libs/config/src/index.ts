export * from './app-config';
export * from './config.module';
export * from './duration';
export { readEnvFile } from './env-file';
export { ConfigError, ENVIRONMENT_VARIABLES, EnvironmentVariables } from './environment';
export * from './process-flags';
export * from './redis-url';
