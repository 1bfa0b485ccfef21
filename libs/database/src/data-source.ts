import { loadConfig } from '@pollarix/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/**
 * The exported DataSource for the TypeORM CLI (`typeorm-ts-node-commonjs -d libs/database/src/data-source.ts`).
 * The npm scripts (migration:run / revert / generate) go through the service's CLI, which also brings up
 * the embedded PostgreSQL when DATABASE_URL is unset.
 */
const config = loadConfig();
if (!config.databaseUrl) throw new Error('DATABASE_URL is required for the TypeORM CLI');

export default new DataSource(dataSourceOptions(config.databaseUrl));
