import { dataSourceOptions, MIGRATIONS } from '@pollarix/database';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';

const databaseUrl = process.env.DATABASE_URL!;

function urlFor(database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Tables, columns, indexes and constraints of the public schema, to compare two states. */
async function schemaOf(dataSource: DataSource): Promise<string[]> {
  const rows: { item: string }[] = await dataSource.query(`
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS item
      FROM information_schema.columns WHERE table_schema = 'public'
    UNION ALL
    SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace
    ORDER BY 1`);
  return rows.map((row) => row.item);
}

describe('migrations', () => {
  it('leave nothing for the entities to change (entities and migrations agree)', async () => {
    const dataSource = new DataSource(dataSourceOptions(databaseUrl, { logging: false }));
    await dataSource.initialize();
    try {
      expect(await dataSource.showMigrations()).toBe(false);
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    } finally {
      await dataSource.destroy();
    }
  });

  describe('in a scratch database', () => {
    // Reverting must not pull tables from under the other suites: this runs in its own database.
    const database = `migrations_${randomBytes(6).toString('hex')}`;
    let dataSource: DataSource;

    beforeAll(async () => {
      await admin((client) => client.query(`CREATE DATABASE "${database}"`));
      dataSource = new DataSource(dataSourceOptions(urlFor(database), { logging: false }));
      await dataSource.initialize();
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS "${database}"`));
    });

    it('revert every migration and run them again to the same schema', async () => {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
      const migrated = await schemaOf(dataSource);
      expect(migrated.length).toBeGreaterThan(0);

      for (let i = 0; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration({ transaction: 'each' });
      const tables: { table_name: string }[] = await dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'migrations'`,
      );
      expect(tables).toEqual([]);

      expect(await dataSource.runMigrations({ transaction: 'each' })).toHaveLength(MIGRATIONS.length);
      expect(await schemaOf(dataSource)).toEqual(migrated);
      expect((await dataSource.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
    });
  });
});
