/**
 * Three projects (`npx jest --selectProjects unit|e2e|system`; `npm test` runs them all):
 *   unit    *.spec.ts beside the code, and test/*.spec.ts, test/deploy: no database, no Redis, seconds.
 *   e2e     test/**\/*.e2e-spec.ts: the API in-process against real PostgreSQL and Redis.
 *   system  test/system/*.system-spec.ts: real worker processes, each file with its own database and Redis.
 * Only e2e and system name the global setup that starts PostgreSQL and Redis: Jest runs a project's
 * global setup only when at least one of its tests runs, and one module once however many projects
 * name it, so a unit-only run starts nothing.
 */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  // Type errors are `npm run typecheck`'s job (tsc over apps, libs, test and bench), which `npm test` runs before jest:
  // ts-jest only transpiles, which keeps each test file fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
};
const withInfrastructure = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};

module.exports = {
  testTimeout: 60000,
  maxWorkers: 2,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts', '<rootDir>/test/*.spec.ts', '<rootDir>/test/deploy/**/*.spec.ts'] },
    { ...shared, ...withInfrastructure, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
    { ...shared, ...withInfrastructure, displayName: 'system', testMatch: ['<rootDir>/test/system/**/*.system-spec.ts'] },
  ],
};
