import { loadConfig } from '@pollarix/config';
import { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MigrationExecutor } from 'typeorm';
import { CliError } from '../cli-error';
import { withDatabase } from '../infra/database';
import { isValidMigrationName, registerMigration, renderMigration } from '../migrations/migration-writer';

const MIGRATIONS_DIR = join('libs', 'database', 'src', 'migrations');

/** The source checkout: the working directory (npm scripts), else the one this bundle was built in. */
function migrationsDir(): string {
  for (const root of [process.cwd(), resolve(__dirname, '..', '..', '..')]) {
    const dir = join(root, MIGRATIONS_DIR);
    if (existsSync(join(dir, 'index.ts'))) return dir;
  }
  throw new CliError(`migration generate needs the source tree (${MIGRATIONS_DIR}/index.ts not found)`);
}

export function registerMigrationCommands(program: Command): void {
  const migration = program.command('migration').description('database schema migrations');

  migration
    .command('run')
    .description('apply every pending migration')
    .action(async () => {
      const applied = await withDatabase(loadConfig(), {}, ({ dataSource }) => dataSource.runMigrations({ transaction: 'each' }));
      process.stdout.write(applied.length ? applied.map((m) => `Applied ${m.name}\n`).join('') : 'No pending migrations\n');
    });

  migration
    .command('revert')
    .description('revert the last applied migration')
    .action(async () => {
      const reverted = await withDatabase(loadConfig(), {}, async ({ dataSource }) => {
        const executed = await new MigrationExecutor(dataSource).getExecutedMigrations();
        if (executed.length === 0) return undefined;
        const last = executed.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
        await dataSource.undoLastMigration({ transaction: 'each' });
        return last.name;
      });
      process.stdout.write(reverted ? `Reverted ${reverted}\n` : 'No migration to revert\n');
    });

  migration
    .command('generate')
    .description(`write ${MIGRATIONS_DIR}/<timestamp>-<Name>.ts from the difference between the entities and the database`)
    .argument('<Name>', 'PascalCase name, e.g. AddDeliveries')
    .action(async (name: string) => {
      if (!isValidMigrationName(name)) throw new CliError(`migration name must be PascalCase letters and digits (got "${name}")`);
      const dir = migrationsDir();
      const sql = await withDatabase(loadConfig(), {}, async ({ dataSource }) => {
        const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
        if (pending.length > 0) {
          throw new CliError(`the database has ${pending.length} pending migration(s): run \`npm run migration:run\` first`);
        }
        return dataSource.driver.createSchemaBuilder().log();
      });
      if (sql.upQueries.length === 0) {
        process.stdout.write('No changes: the entities match the database schema\n');
        return;
      }
      const timestamp = Date.now();
      const fileBase = `${timestamp}-${name}`;
      const file = join(dir, `${fileBase}.ts`);
      writeFileSync(file, renderMigration(name, timestamp, sql.upQueries, sql.downQueries));
      const index = join(dir, 'index.ts');
      writeFileSync(index, registerMigration(readFileSync(index, 'utf8'), `${name}${timestamp}`, fileBase));
      process.stdout.write(`Wrote ${relative(process.cwd(), file)} (${sql.upQueries.length} statement(s)) and registered it in ${relative(process.cwd(), index)}\n`);
    });
}
