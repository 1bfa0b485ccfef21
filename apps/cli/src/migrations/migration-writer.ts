/** Renders generated migrations the way TypeORM's `migration:generate` does, and registers them. */

export interface SqlQuery {
  query: string;
  parameters?: unknown[];
}

const MIGRATION_NAME = /^[A-Z][A-Za-z0-9]*$/;

export function isValidMigrationName(name: string): boolean {
  return MIGRATION_NAME.test(name);
}

function templateLiteral(sql: string): string {
  return '`' + sql.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${') + '`';
}

function statement(query: SqlQuery): string {
  const parameters = query.parameters?.length ? `, ${JSON.stringify(query.parameters)}` : '';
  return `    await queryRunner.query(${templateLiteral(query.query)}${parameters});`;
}

/** The source of `<timestamp>-<Name>.ts`; `down` undoes `up` in reverse order. */
export function renderMigration(name: string, timestamp: number, up: SqlQuery[], down: SqlQuery[]): string {
  const className = `${name}${timestamp}`;
  return [
    "import { MigrationInterface, QueryRunner } from 'typeorm';",
    '',
    `export class ${className} implements MigrationInterface {`,
    `  name = '${className}';`,
    '',
    '  public async up(queryRunner: QueryRunner): Promise<void> {',
    ...up.map(statement),
    '  }',
    '',
    '  public async down(queryRunner: QueryRunner): Promise<void> {',
    ...[...down].reverse().map(statement),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Adds the import and appends the class to the MIGRATIONS array of migrations/index.ts. */
export function registerMigration(indexSource: string, className: string, fileBase: string): string {
  const array = /export const MIGRATIONS = \[([^\]]*)\];/.exec(indexSource);
  if (!array) throw new Error('migrations/index.ts has no `export const MIGRATIONS = [...]` array');
  const items = array[1]
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  items.push(className);
  const oneLine = `export const MIGRATIONS = [${items.join(', ')}];`;
  const rendered = oneLine.length <= 110 ? oneLine : `export const MIGRATIONS = [\n${items.map((item) => `  ${item},`).join('\n')}\n];`;
  const withArray = indexSource.replace(array[0], rendered);

  const importLine = `import { ${className} } from './${fileBase}';`;
  const imports = [...withArray.matchAll(/^import .*;$/gm)];
  if (imports.length === 0) return `${importLine}\n${withArray}`;
  const last = imports[imports.length - 1];
  const at = last.index + last[0].length;
  return `${withArray.slice(0, at)}\n${importLine}${withArray.slice(at)}`;
}
