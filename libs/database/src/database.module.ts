import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@pollarix/config';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { Database } from './database';

/**
 * Applies pending migrations on a connection of its own, without the apps' statement timeout: a
 * migration may rewrite a large table for longer than any request should wait.
 */
export async function runPendingMigrations(databaseUrl: string): Promise<void> {
  const dataSource = new DataSource(dataSourceOptions(databaseUrl));
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await dataSource.destroy();
  }
}

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: async (config: AppConfig) => {
        if (config.migrationsRun) await runPendingMigrations(config.databaseUrl!);
        return {
          ...dataSourceOptions(config.databaseUrl!, {}, { statementMs: config.databaseStatementTimeoutMs, connectMs: config.databaseConnectTimeoutMs }),
          retryAttempts: 3,
          retryDelay: 1000,
        };
      },
    }),
  ],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {}
