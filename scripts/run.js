#!/usr/bin/env node
/**
 * The npm scripts' entry point (plain Node, no dependencies: it runs before `npm ci`).
 *
 *   start                      install if needed, build if needed, then `cli dev` (PostgreSQL, Redis, API, worker)
 *   test [jest args…]          install/build if needed, typecheck, lint and format check, run jest, end with the line "N passed, N failed"
 *   test:unit [jest args…]     jest's unit project only: no build, no static checks, no PostgreSQL/Redis
 *   cli <args…>                the service's CLI (dist/apps/cli/main.js)
 *   migration:run | migration:revert | migration:generate <Name>
 *   bench:<name> [args…]       bench/<name>.ts (or <name>.bench.ts) under ts-node
 *
 * Bootstrap output (npm ci, the build) goes to stderr so that `npm run --silent cli -- token create …`
 * keeps stdout for the command's own result.
 */
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const APPS = ['api', 'worker', 'cli'];
const BUILD_INPUTS = ['apps', 'libs', 'nest-cli.json', 'package-lock.json', 'webpack.config.js'];
const STDERR_ONLY = ['inherit', 2, 2];

function log(message) {
  process.stderr.write(`[run] ${message}\n`);
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Newest modification time of the files under `entry` (a file or a directory). */
function newest(entry) {
  let stat;
  try {
    stat = fs.statSync(entry);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted file changes its directory's time
  for (const name of fs.readdirSync(entry)) {
    if (name === 'node_modules') continue;
    latest = Math.max(latest, newest(path.join(entry, name)));
  }
  return latest;
}

/** npm itself: the one running this script when there is one, else the npm on PATH. */
function npm(args, stdio) {
  const npmCli = process.env.npm_execpath;
  const result =
    npmCli && /\.c?js$/.test(npmCli)
      ? spawnSync(process.execPath, [npmCli, ...args], { cwd: ROOT, stdio })
      : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: ROOT, stdio });
  if (result.error) throw result.error;
  return result.status === null ? 1 : result.status;
}

function ensureDependencies() {
  const lock = mtime(path.join(ROOT, 'package-lock.json'));
  const modules = path.join(ROOT, 'node_modules');
  const installed = Math.max(mtime(modules) || 0, mtime(path.join(modules, '.package-lock.json')) || 0);
  if (installed && (lock === undefined || installed >= lock)) return;
  log(installed ? 'package-lock.json changed: npm ci' : 'node_modules missing: npm ci');
  const status = npm(['ci'], STDERR_ONLY);
  if (status !== 0) {
    log(`npm ci failed (exit code ${status})`);
    process.exit(status);
  }
}

function ensureBuild() {
  // The three bundles and the web console (vite build, dist/console).
  const outputs = [...APPS.map((app) => mtime(path.join(ROOT, 'dist', 'apps', app, 'main.js'))), mtime(path.join(ROOT, 'dist', 'console', 'index.html'))];
  const inputs = [
    ...BUILD_INPUTS.map((entry) => path.join(ROOT, entry)),
    ...fs
      .readdirSync(ROOT)
      .filter((name) => /^tsconfig.*\.json$/.test(name))
      .map((name) => path.join(ROOT, name)),
  ];
  if (outputs.every((time) => time !== undefined)) {
    const oldestOutput = Math.min(...outputs);
    if (inputs.every((input) => newest(input) <= oldestOutput)) return;
  }
  log('building (npm run build)…');
  const started = Date.now();
  const status = npm(['run', '--silent', 'build'], STDERR_ONLY);
  if (status !== 0) {
    log(`build failed (exit code ${status})`);
    process.exit(status);
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Runs a child with inherited stdio, passes termination signals on, and exits with its status. */
function runForwarding(command, args, options = {}) {
  const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  child.once('error', (error) => {
    log(`could not start ${command}: ${error.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const name of signals) process.removeListener(name, forward);
    process.exit(code !== null ? code : 128 + (os.constants.signals[signal] || 1));
  });
}

function cli(args) {
  runForwarding(process.execPath, [path.join(ROOT, 'dist', 'apps', 'cli', 'main.js'), ...args]);
}

/** "N passed, N failed" from scripts/count-reporter.js's counts; a suite that crashed counts as a failure. */
function summarize(countsFile, jestStatus) {
  let counts;
  try {
    counts = JSON.parse(fs.readFileSync(countsFile, 'utf8'));
  } catch {
    counts = undefined;
  }
  const passed = counts ? counts.passed : 0;
  let failed = counts ? counts.failed + counts.crashedSuites : 0;
  if (jestStatus !== 0 && failed === 0) failed = 1; // global setup, no tests found, a crash…
  return { passed, failed };
}

/** What `npm test` runs before jest, over the whole repository whatever jest runs. */
const STATIC_CHECKS = ['typecheck', 'lint', 'format:check'];

function test(args, checks = STATIC_CHECKS) {
  // A failed check says so in one line and counts as one failure.
  const failedChecks = checks.filter((script) => {
    const status = npm(['run', '--silent', script], 'inherit');
    if (status !== 0) process.stdout.write(`${script}: failed (exit code ${status}; its findings are above)\n`);
    return status !== 0;
  }).length;
  const countsFile = path.join(os.tmpdir(), `pollarix-jest-${process.pid}-${Date.now()}.json`);
  const reporters = ['--reporters=default', `--reporters=${path.join(ROOT, 'scripts', 'count-reporter.js')}`];
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), ...reporters, ...args], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, POLLARIX_JEST_COUNTS: countsFile },
  });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.once('exit', (code, signal) => {
    const status = code !== null ? code : 128 + (os.constants.signals[signal] || 1);
    const { passed, failed } = summarize(countsFile, status);
    fs.rmSync(countsFile, { force: true });
    process.stdout.write(`${passed} passed, ${failed + failedChecks} failed\n`);
    process.exit(status !== 0 ? status : failed + failedChecks > 0 ? 1 : 0);
  });
}

/** bench/<name>.ts (or bench/<name>.bench.ts). */
function benchFile(name) {
  const candidates = [`${name}.ts`, `${name}.bench.ts`].map((file) => path.join(ROOT, 'bench', file));
  const file = candidates.find((candidate) => fs.existsSync(candidate));
  if (!file) {
    log(`no benchmark bench/${name}.ts`);
    process.exit(1);
  }
  return file;
}

function bench(file, args) {
  runForwarding(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', file, ...args], {
    env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
  });
}

function main() {
  const [command, ...args] = process.argv.slice(2);
  const known = ['start', 'test', 'test:unit', 'cli', 'migration:run', 'migration:revert', 'migration:generate'];
  if (!command || (!known.includes(command) && !command.startsWith('bench:'))) {
    log(`usage: node scripts/run.js <${known.join('|')}|bench:<name>> [args…]`);
    process.exit(64);
  }
  const benchmark = command.startsWith('bench:') ? benchFile(command.slice('bench:'.length)) : undefined;
  ensureDependencies();
  // The quick loop: unit tests alone, no build, no static checks (npm test and CI run those).
  if (command === 'test:unit') return test(['--selectProjects', 'unit', ...args], []);
  ensureBuild();
  switch (command) {
    case 'start':
      return cli(['dev', ...args]);
    case 'test':
      return test(args);
    case 'cli':
      return cli(args);
    case 'migration:run':
      return cli(['migration', 'run', ...args]);
    case 'migration:revert':
      return cli(['migration', 'revert', ...args]);
    case 'migration:generate':
      return cli(['migration', 'generate', ...args]);
    default:
      return bench(benchmark, args);
  }
}

main();
