import { Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@pollarix/config';
import { DataSource, DataSourceOptions } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { Database } from './database';
import { retried } from './retry';

/**
 * Applies pending migrations on a connection of its own, without the apps' statement timeout: a
 * migration may rewrite a large table for longer than any request should wait.
 */
export async function runPendingMigrations(databaseUrl: string, overrides: Partial<DataSourceOptions> = {}): Promise<void> {
  const dataSource = new DataSource(dataSourceOptions(databaseUrl, overrides));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

/** How often, and how far apart, the app tries to reach PostgreSQL at start (which may still be starting). */
const CONNECT_RETRY = { attempts: 3, delayMs: 1000 };
const logger = new Logger('DatabaseModule');

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        if (config.migrationsRun) {
          // Outside initialize(), which @nestjs/typeorm retries below: the same retries here.
          await retried(() => runPendingMigrations(config.databaseUrl!), {
            ...CONNECT_RETRY,
            onRetry: (error, retry) => logger.error(`Unable to run the migrations (${(error as Error)?.message ?? error}). Retrying (${retry})...`),
          });
        }
        return {
          ...dataSourceOptions(config.databaseUrl!, {}, { statementMs: config.databaseStatementTimeoutMs, connectMs: config.databaseConnectTimeoutMs }),
          retryAttempts: CONNECT_RETRY.attempts,
          retryDelay: CONNECT_RETRY.delayMs,
        };
      },
    }),
  ],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {}
