/** Unit tests live beside the code (*.spec.ts); e2e and system tests under test/. */
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(apps|libs|test)/.*\\.(spec|e2e-spec|system-spec)\\.ts$',
  // Type errors are `npm run typecheck`'s job (tsc over apps, libs, test and bench), which `npm test` runs before jest:
  // ts-jest only transpiles, which keeps each test file fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
