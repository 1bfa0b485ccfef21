import type { DataSourceOptions } from 'typeorm';
import { boundedPoolOptions, DatabaseTimeouts } from './connection-bounds';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';

/**
 * The one set of connection options: apps, CLI, TypeORM CLI and tests all build from it. With
 * `timeouts` (the API and the worker) every statement and every wait for a connection is bounded;
 * without (the CLI's maintenance commands, migrations) a statement runs as long as it needs.
 */
export function dataSourceOptions(databaseUrl: string, overrides: Partial<DataSourceOptions> = {}, timeouts?: DatabaseTimeouts): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    extra: { max: 20, application_name: 'pollarix-webhooks', ...(timeouts ? boundedPoolOptions(timeouts) : {}) },
    ...overrides,
  } as DataSourceOptions;
}
