// ESLint 9 flat config: typescript-eslint's type-checked rules over the TypeScript (apps, libs, test, bench),
// plain recommended rules over the build and run scripts (CommonJS, not type-checked). Formatting is Prettier's
// job alone: eslint-config-prettier, last, turns off every rule that would disagree with it.
import js from '@eslint/js';
import eslintConfigPrettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**'] },
  {
    files: ['apps/**/*.ts', 'libs/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    ignores: ['apps/console/**'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // Off: `async` without `await` is how the fakes, stubs and no-op `stop`/`close` here implement a
      // Promise-returning interface, and it makes a `throw` inside them a rejection as the real thing does.
      '@typescript-eslint/require-await': 'off',
      // `const { id: _omitted, ...rest } = x` is how an object is copied without one key.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // The web console: browser code (DOM, JSX for Preact) under its own tsconfig.
    files: ['apps/console/**/*.ts', 'apps/console/**/*.tsx', 'apps/console/**/*.mts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { project: './apps/console/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // Off in tests only: they read untyped JSON on purpose (HTTP bodies, SQL rows, JSON.parse, axios data) and
    // use Jest's asymmetric matchers (`expect.any()`, `expect.stringContaining()` are typed `any`); their
    // assertions are what check the shape. The code under test keeps these rules.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['scripts/**/*.js', '*.js'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  eslintConfigPrettier,
);
