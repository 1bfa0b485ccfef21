import { isValidMigrationName, registerMigration, renderMigration } from './migration-writer';

describe('renderMigration', () => {
  it('writes a TypeORM migration class with down in reverse order', () => {
    const source = renderMigration(
      'AddDeliveries',
      1700000000000,
      [{ query: 'CREATE TABLE "a" ("x" int)' }, { query: 'CREATE INDEX "i" ON "a" ("x")' }],
      [{ query: 'DROP TABLE "a"' }, { query: 'DROP INDEX "i"' }],
    );
    expect(source).toContain('export class AddDeliveries1700000000000 implements MigrationInterface {');
    expect(source).toContain("name = 'AddDeliveries1700000000000';");
    expect(source.indexOf('DROP INDEX')).toBeLessThan(source.indexOf('DROP TABLE'));
    expect(source.indexOf('CREATE TABLE')).toBeLessThan(source.indexOf('CREATE INDEX'));
  });

  it('escapes template-literal syntax and keeps parameters', () => {
    const source = renderMigration('X', 1, [{ query: "COMMENT ON x IS '`${a}\\'", parameters: ['p'] }], []);
    expect(source).toContain('await queryRunner.query(`COMMENT ON x IS \'\\`\\${a}\\\\\'`, ["p"]);');
  });
});

describe('registerMigration', () => {
  const index = [
    "import { InitialSchema1764180000000 } from './1764180000000-InitialSchema';",
    '',
    '/** Every migration in order. */',
    'export const MIGRATIONS = [InitialSchema1764180000000];',
    '',
  ].join('\n');

  it('imports the class and appends it to MIGRATIONS', () => {
    const updated = registerMigration(index, 'AddDeliveries1800000000000', '1800000000000-AddDeliveries');
    expect(updated).toContain(
      "import { InitialSchema1764180000000 } from './1764180000000-InitialSchema';\n" + "import { AddDeliveries1800000000000 } from './1800000000000-AddDeliveries';\n",
    );
    expect(updated).toContain('export const MIGRATIONS = [InitialSchema1764180000000, AddDeliveries1800000000000];');
  });

  it('switches to one item per line when the array grows long', () => {
    let source = index;
    for (let i = 1; i <= 5; i++) source = registerMigration(source, `SomeLongerMigrationName${i}`, `${i}-SomeLongerMigrationName`);
    expect(source).toMatch(/export const MIGRATIONS = \[\n {2}InitialSchema1764180000000,\n[\s\S]* {2}SomeLongerMigrationName5,\n\];/);
  });

  it('refuses a file without the array', () => {
    expect(() => registerMigration('export const X = 1;', 'A1', '1-A')).toThrow(/MIGRATIONS/);
  });
});

describe('isValidMigrationName', () => {
  it.each(['AddDeliveries', 'A1'])('accepts %s', (name) => expect(isValidMigrationName(name)).toBe(true));
  it.each(['', 'add', '1Add', 'Add-Deliveries', 'Add Deliveries'])('rejects %p', (name) => expect(isValidMigrationName(name)).toBe(false));
});
