import { dataSourceOptions, MIGRATIONS } from '@pollarix/database';
import { DataSource } from 'typeorm';
import { startApi } from './support/api-harness';
import { createScratchDatabase } from './support/infra';

const databaseUrl = process.env.DATABASE_URL!;

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
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
    let dataSource: DataSource;

    beforeAll(async () => {
      scratch = await createScratchDatabase('migrations');
      dataSource = new DataSource(dataSourceOptions(scratch.url, { logging: false }));
      await dataSource.initialize();
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await scratch?.drop();
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

  it('MIGRATIONS_RUN=true: the API applies them at start (on an unbounded connection of its own), then opens its bounded pool', async () => {
    const scratch = await createScratchDatabase('migrations_run');
    try {
      const api = await startApi({ DATABASE_URL: scratch.url, MIGRATIONS_RUN: 'true' });
      try {
        const applied: { name: string }[] = await api.db.dataSource.query('SELECT name FROM migrations ORDER BY id');
        expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
        // Its pool, by contrast, is bounded (pg_settings gives the value in ms).
        expect(await api.db.dataSource.query(`SELECT setting FROM pg_settings WHERE name = 'statement_timeout'`)).toEqual([
          { setting: String(api.config.databaseStatementTimeoutMs) },
        ]);
      } finally {
        await api.close();
      }
    } finally {
      await scratch.drop();
    }
  });
});
