import { SecretBox } from '@pollarix/common';
import { AppConfig, redactUrl } from '@pollarix/config';
import { dataSourceOptions, Repositories } from '@pollarix/database';
import { LocalService } from '@pollarix/devinfra';
import { DataSource } from 'typeorm';
import { CliError, errorMessage } from '../cli-error';
import { Say, startLocalDatabase } from './local-services';

export interface DatabaseSession {
  dataSource: DataSource;
  repos: Repositories;
  /** Seals and opens values at rest with SECRETS_ENCRYPTION_KEY's ring. */
  box: SecretBox;
  /** True when DATABASE_URL is unset and the local development PostgreSQL is used. */
  local: boolean;
}

export interface DatabaseOptions {
  /** Apply pending migrations, only to the local development database (a fresh clone just works). */
  migrateLocal?: boolean;
}

const stderr: Say = (line) => process.stderr.write(`${line}\n`);

/**
 * Runs `work` against DATABASE_URL, or against the local PostgreSQL when it is unset: reused when
 * `npm start` (or anything else) already serves it, otherwise started here and stopped afterwards.
 */
export async function withDatabase<T>(config: AppConfig, options: DatabaseOptions, work: (session: DatabaseSession) => Promise<T>): Promise<T> {
  let localService: LocalService | undefined;
  const url = config.databaseUrl ?? (localService = await startLocalDatabase(config, stderr)).url;
  const dataSource = new DataSource(dataSourceOptions(url, { logging: false }));
  try {
    try {
      await dataSource.initialize();
    } catch (error) {
      throw new CliError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${errorMessage(error)}`);
    }
    if (!config.databaseUrl && options.migrateLocal) {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      if (applied.length > 0) stderr(`Applied ${applied.length} migration(s) to the local database`);
    }
    const box = new SecretBox(config.secretsEncryptionKeys);
    return await work({ dataSource, repos: new Repositories(dataSource.manager, box), box, local: !config.databaseUrl });
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await localService?.stop();
  }
}
