import { ENVIRONMENT_VARIABLES, loadConfig, parseDuration, WORKER_NODE_FLAGS } from '@pollarix/config';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { registerDevCommand } from '../../apps/cli/src/commands/dev.command';
import { registerEventCommands } from '../../apps/cli/src/commands/event.command';
import { registerMigrationCommands } from '../../apps/cli/src/commands/migration.command';
import { registerTokenCommands } from '../../apps/cli/src/commands/token.command';
import { registerWebhookCommands } from '../../apps/cli/src/commands/webhook.command';

/**
 * The deploy files read as files (there is no Docker engine to run them here): the compose stack, the
 * Dockerfile and the entry point must agree with each other, with the build (nest-cli.json,
 * webpack.config.js), with the config schema and with SPEC §2/§3/§9.
 */

const ROOT = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

// ---------------------------------------------------------------------------------------------------
// docker-compose.yml

type Scalar = string | number | boolean | null;

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Record<string, Scalar> | string[];
  ports?: (string | number | { published?: string | number; target: number })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  container_name?: string;
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};

/** The services that run this repository's image (built from the Dockerfile). */
const APP_SERVICES = Object.keys(compose.services)
  .filter((name) => compose.services[name].build !== undefined)
  .sort();
/** The app services that serve HTTP (health and metrics), with the variable that sets the port and its default. */
const SERVING = { api: { portVariable: 'PORT', defaultPort: 3000 }, worker: { portVariable: 'WORKER_HTTP_PORT', defaultPort: 9464 } };
/** Variables the runtime reads itself rather than the config schema. */
const READ_BY_NODE = ['NODE_ENV', 'NODE_OPTIONS', 'TZ'];
const REQUIRED = ['DATABASE_URL', 'REDIS_URL', 'SECRETS_ENCRYPTION_KEY'];

const words = (command: string | string[] | undefined): string[] =>
  command === undefined ? [] : Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/);

function environmentOf(s: ComposeService): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(s.environment.map((item) => [item.split('=')[0], item.slice(item.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([name, value]) => [name, value === null ? '' : String(value)]));
}

/** Compose interpolation: `${X}`, `${X:-default}`, `${X-default}`, `${X:?error}`, `${X?error}`, `$$`. */
function interpolate(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name?: string, op?: string, arg?: string) => {
    if (!name) return '$';
    const given = variables[name];
    const unset = op?.startsWith(':') ? !given : given === undefined;
    if (!unset) return given;
    if (op?.endsWith('?')) throw new Error(`${name} is required: ${arg}`);
    return op?.endsWith('-') ? (arg ?? '') : '';
  });
}

function dependsOn(s: ComposeService): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

/** Host ports a service publishes ("3000:3000" → 3000; "9464" publishes none of its own choosing). */
function publishedPorts(s: ComposeService): { published: string; target: number }[] {
  return (s.ports ?? []).flatMap((port) => {
    if (typeof port === 'object') return port.published === undefined ? [] : [{ published: String(port.published), target: port.target }];
    const parts = String(port)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    return parts.length < 2 ? [] : [{ published: parts[parts.length - 2], target: Number(parts[parts.length - 1]) }];
  });
}

function mounts(s: ComposeService): { source: string; target: string }[] {
  return (s.volumes ?? []).map((volume) => {
    if (typeof volume === 'object') return { source: volume.source ?? '', target: volume.target };
    const [source, target] = volume.split(':');
    return target === undefined ? { source: '', target: source } : { source, target };
  });
}

/** The URL a healthcheck fetches on the container's own loopback. */
function healthcheckUrl(s: ComposeService): { port: number; path: string } | undefined {
  const match = /https?:\/\/(?:127\.0\.0\.1|localhost|\[::1\]):(\d+)(\/[\w/]*)/.exec(words(s.healthcheck?.test).join(' '));
  return match ? { port: Number(match[1]), path: match[2] } : undefined;
}

const TEST_KEY = 'ab'.repeat(32);
/** An app service's environment as the container gets it (SECRETS_ENCRYPTION_KEY given, as the README says). */
const containerEnvironment = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(environmentOf(service(name))).map(([key, value]) => [key, interpolate(value, { SECRETS_ENCRYPTION_KEY: TEST_KEY })]));

describe('docker-compose.yml', () => {
  it('has the production-shaped stack: postgres, redis, a one-shot migrate, api and worker', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'migrate', 'api', 'worker']));
    expect(APP_SERVICES).toEqual(['api', 'migrate', 'worker']);
    for (const name of APP_SERVICES) expect(service(name).profiles).toBeUndefined();
  });

  it('runs Redis as BullMQ needs it in production (AOF every second, no eviction) on a volume', () => {
    const command = words(service('redis').command).join(' ');
    expect(command).toMatch(/^redis-server\b/);
    expect(command).toMatch(/--appendonly yes\b/);
    expect(command).toMatch(/--appendfsync everysec\b/);
    expect(command).toMatch(/--maxmemory-policy noeviction\b/);
    expect(mounts(service('redis')).map((m) => m.target)).toContain('/data');
  });

  it('keeps PostgreSQL and Redis data on named volumes', () => {
    const postgres = mounts(service('postgres')).find((m) => /^\/var\/lib\/postgresql(\/data)?$/.test(m.target));
    const redis = mounts(service('redis')).find((m) => m.target === '/data');
    for (const mount of [postgres, redis]) {
      expect(mount).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(mount!.source);
    }
  });

  it('gives postgres and redis healthchecks that the apps can wait on', () => {
    expect(words(service('postgres').healthcheck?.test).join(' ')).toMatch(/pg_isready/);
    expect(words(service('redis').healthcheck?.test).join(' ')).toMatch(/redis-cli.*ping/);
  });

  it('migrates once, after PostgreSQL is healthy, and is never restarted', () => {
    const migrate = service('migrate');
    expect(words(migrate.command)[0]).toBe('migrate');
    expect(migrate.restart ?? 'no').toBe('no');
    expect(dependsOn(migrate)).toMatchObject({ postgres: 'service_healthy' });
    expect(publishedPorts(migrate)).toEqual([]);
  });

  describe.each(Object.entries(SERVING))('%s', (name, { portVariable, defaultPort }) => {
    const port = (): number => Number(containerEnvironment(name)[portVariable] ?? defaultPort);

    it(`has a healthcheck on its own /health/ready or /health/live (${portVariable}, default ${defaultPort})`, () => {
      const url = healthcheckUrl(service(name));
      expect(url).toBeDefined();
      expect(url!.path).toMatch(/^\/health\/(ready|live)$/);
      expect(url!.port).toBe(port());
    });

    it('starts after migrate completed successfully and PostgreSQL and Redis are healthy', () => {
      expect(dependsOn(service(name))).toMatchObject({
        migrate: 'service_completed_successfully',
        postgres: 'service_healthy',
        redis: 'service_healthy',
      });
    });

    it('is restarted when it stops', () => {
      expect(['always', 'unless-stopped', 'on-failure']).toContain(service(name).restart);
    });

    it('publishes only the port it listens on', () => {
      for (const mapping of publishedPorts(service(name))) expect(mapping.target).toBe(port());
    });
  });

  it('lets `docker compose up --scale worker=N` run N workers: no fixed name, no fixed host port', () => {
    const worker = service('worker');
    expect(worker.container_name).toBeUndefined();
    expect(publishedPorts(worker)).toEqual([]);
  });

  it('gives a stopping worker longer than one delivery attempt (its in-flight attempts finish)', () => {
    const config = loadConfig({ env: containerEnvironment('worker') });
    expect(parseDuration(service('worker').stop_grace_period ?? '10s')).toBeGreaterThan(config.deliveryTimeoutMs);
  });

  it.each(APP_SERVICES)('%s sets only variables of the config schema', (name) => {
    const unknown = Object.keys(environmentOf(service(name))).filter((variable) => !ENVIRONMENT_VARIABLES.includes(variable) && !READ_BY_NODE.includes(variable));
    expect(unknown).toEqual([]);
  });

  it.each(APP_SERVICES)('%s gets the required connections and key, and the apps accept its configuration', (name) => {
    const env = containerEnvironment(name);
    for (const variable of REQUIRED) expect(env[variable]).toBeTruthy();
    expect(() => loadConfig({ env, requireConnections: true })).not.toThrow();
  });

  it('takes SECRETS_ENCRYPTION_KEY from the operator, never a key written in the file', () => {
    for (const name of APP_SERVICES) {
      expect(environmentOf(service(name)).SECRETS_ENCRYPTION_KEY).toMatch(/^\$\{SECRETS_ENCRYPTION_KEY:\?[^}]+\}$/);
      expect(() => interpolate(environmentOf(service(name)).SECRETS_ENCRYPTION_KEY, {})).toThrow(/SECRETS_ENCRYPTION_KEY/);
    }
  });

  it('points DATABASE_URL and REDIS_URL at the compose services, with the credentials postgres is created with', () => {
    const postgres = environmentOf(service('postgres'));
    for (const name of APP_SERVICES) {
      const env = containerEnvironment(name);
      const database = new URL(env.DATABASE_URL);
      expect(database.hostname).toBe('postgres');
      expect(decodeURIComponent(database.username)).toBe(postgres.POSTGRES_USER);
      expect(decodeURIComponent(database.password)).toBe(postgres.POSTGRES_PASSWORD);
      expect(database.pathname).toBe(`/${postgres.POSTGRES_DB ?? postgres.POSTGRES_USER}`);
      expect(new URL(env.REDIS_URL).hostname).toBe('redis');
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split(/\r?\n/)
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (keyword.toUpperCase() === 'FROM') {
      const [image, as, name] = args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile: ${keyword} before FROM`);
      stages[stages.length - 1].instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

/** An instruction's exec form (JSON array) or its shell form split on spaces. */
const argv = (args: string): string[] => (args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/));
const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => all(stage, keyword).pop();

interface Copy {
  from?: string;
  chmod?: string;
  sources: string[];
  destination: string;
}

function copies(stage: Stage): Copy[] {
  return [...all(stage, 'COPY'), ...all(stage, 'ADD')].map(({ args }) => {
    const parts = argv(args);
    const flags = Object.fromEntries(parts.filter((p) => p.startsWith('--')).map((p) => p.slice(2).split('=') as [string, string]));
    const paths = parts.filter((p) => !p.startsWith('--'));
    return { from: flags.from, chmod: flags.chmod, sources: paths.slice(0, -1), destination: paths[paths.length - 1] };
  });
}

/** The absolute path `path` names in a stage whose WORKDIR is `workdir`. */
const inStage = (workdir: string, path: string): string => posix.normalize(posix.isAbsolute(path) ? path : posix.join(workdir, path)).replace(/\/$/, '');
const workdirOf = (stage: Stage): string => (last(stage, 'WORKDIR')?.args ?? '/').trim();

const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages[stages.length - 1];

/**
 * Node's LTS lines and the last day of each one's security fixes (https://github.com/nodejs/release#release-schedule).
 * Odd majors are never LTS and are not listed.
 */
const NODE_LTS_END_OF_LIFE: Record<number, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30', 26: '2029-04-30' };

/** Node release lines a semver range admits (enough of node-semver for `engines`: ^ ~ >= > <= < x ||). */
function admitsMajor(range: string, major: number): boolean {
  type Version = [number, number, number];
  const compare = (a: Version, b: Version): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  return range.split('||').some((alternative) => {
    let low: Version = [major, 0, 0];
    let high: Version = [major + 1, 0, 0]; // exclusive
    const raise = (v: Version) => compare(v, low) > 0 && (low = v);
    const lower = (v: Version) => compare(v, high) < 0 && (high = v);
    const comparators = alternative
      .trim()
      .replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1')
      .split(/\s+/)
      .filter(Boolean);
    for (const comparator of comparators) {
      const match = /^(>=|<=|>|<|=|\^|~)?v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(comparator);
      if (!match) throw new Error(`engines range not understood: "${range}"`);
      const [, op = '=', ...parts] = match;
      const given = parts.map((p) => (p === undefined || /[xX*]/.test(p) ? undefined : Number(p)));
      const precision = given.findIndex((p) => p === undefined) === -1 ? 3 : given.findIndex((p) => p === undefined);
      const floor = [0, 1, 2].map((i) => given[i] ?? 0) as Version;
      const next = (level: number): Version => (level === 0 ? [floor[0] + 1, 0, 0] : level === 1 ? [floor[0], floor[1] + 1, 0] : [floor[0], floor[1], floor[2] + 1]);
      if (precision === 0) continue; // *, x
      if (op === '>=') raise(floor);
      else if (op === '>') raise(next(precision - 1));
      else if (op === '<') lower(floor);
      else if (op === '<=') lower(next(precision - 1));
      else if (op === '^') {
        raise(floor);
        lower(next(0));
      } else if (op === '~') {
        raise(floor);
        lower(next(Math.min(precision - 1, 1)));
      } else {
        raise(floor);
        lower(next(precision - 1));
      }
    }
    return compare(low, high) < 0;
  });
}

interface LockPackage {
  dev?: boolean;
  engines?: { node?: string } | string[];
}
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockPackage> };
const pkg = JSON.parse(read('package.json')) as { engines?: { node?: string } };

describe('Dockerfile', () => {
  it('builds in one stage and runs from another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
  });

  it('builds and runs on one maintained Node LTS line, which engines and every production dependency admit', () => {
    const nodeStages = stages.filter((s) => /^node:\d+/.test(s.image));
    expect(nodeStages).toContain(runtime);
    const majors = [...new Set(nodeStages.map((s) => Number(/^node:(\d+)/.exec(s.image)![1])))];
    expect(majors).toHaveLength(1); // the build stage compiles on the Node that runs the result
    const [major] = majors;
    const endOfLife = NODE_LTS_END_OF_LIFE[major];
    expect({ major, lts: endOfLife !== undefined }).toEqual({ major, lts: true });
    // A line past its date gets no more security fixes: move the image (CI follows it) to a newer LTS.
    expect({ major, endOfLife, maintained: Date.now() <= Date.parse(`${endOfLife}T23:59:59Z`) }).toEqual({ major, endOfLife, maintained: true });
    const ranges = [
      pkg.engines?.node,
      ...Object.values(lock.packages)
        .filter((p) => !p.dev)
        .map((p) => (Array.isArray(p.engines) ? undefined : p.engines?.node)),
    ];
    const refused = ranges.filter((range): range is string => !!range && !admitsMajor(range, major));
    expect(refused).toEqual([]);
  });

  it('runs as a non-root user', () => {
    const user = last(runtime, 'USER')?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('installs production dependencies only in the image it runs', () => {
    const installs = all(runtime, 'RUN').filter((run) => /\bnpm (ci|install|i)\b/.test(run.args));
    expect(installs.length).toBeGreaterThan(0);
    for (const run of installs) expect(run.args).toMatch(/--omit[= ]dev\b|--only[= ]prod(uction)?\b|--production\b/);
    // node_modules from the build stage would carry the devDependencies along.
    for (const copy of copies(runtime).filter((c) => c.from)) expect(copy.sources.join(' ')).not.toMatch(/node_modules/);
  });

  it('has a healthcheck, in the image or in compose for every serving role', () => {
    const inImage = all(runtime, 'HEALTHCHECK').some((h) => !/^NONE\b/i.test(h.args));
    const inCompose = Object.keys(SERVING).every((name) => healthcheckUrl(service(name)) !== undefined);
    expect(inImage || inCompose).toBe(true);
  });

  it('starts through deploy/docker-entrypoint.sh, installed executable where ENTRYPOINT finds it', () => {
    const copy = copies(runtime).find((c) => c.sources.includes('deploy/docker-entrypoint.sh'));
    expect(copy).toBeDefined();
    const installed = inStage(workdirOf(runtime), copy!.destination.endsWith('/') ? posix.join(copy!.destination, 'docker-entrypoint.sh') : copy!.destination);
    const entrypoint = argv(last(runtime, 'ENTRYPOINT')?.args ?? '[]');
    expect(entrypoint.length).toBeGreaterThan(0);
    // A bare name is looked up on the image's PATH (node images: /usr/local/bin among others).
    const resolved = entrypoint[0].includes('/') ? inStage(workdirOf(runtime), entrypoint[0]) : posix.join('/usr/local/bin', entrypoint[0]);
    expect(resolved).toBe(installed);
    expect(copy!.chmod !== undefined || (statSync(join(ROOT, 'deploy/docker-entrypoint.sh')).mode & 0o111) !== 0).toBe(true);
  });

  it('COPYs only files that exist in the repository', () => {
    for (const stage of stages) {
      for (const copy of copies(stage).filter((c) => !c.from)) {
        for (const source of copy.sources) expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// The build and deploy/docker-entrypoint.sh

interface NestProject {
  type: 'application' | 'library';
  root: string;
  sourceRoot: string;
  entryFile: string;
}
interface NestCli {
  compilerOptions: { webpackConfigPath: string; tsConfigPath: string };
  projects: Record<string, NestProject>;
}
interface WebpackConfig {
  entry: Record<string, string>;
  output: { path?: string; filename: string };
}

const nestCli = JSON.parse(read('nest-cli.json')) as NestCli;
const applications = Object.entries(nestCli.projects).filter(([, p]) => p.type === 'application');

/** webpack.config.js applied to a stand-in of Nest's defaults: its output folder and the bundle of each entry source. */
function webpackBuild(): { outDir: string; outputs: Record<string, string> } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const factory = require(join(ROOT, nestCli.compilerOptions.webpackConfigPath)) as (defaults: object, webpack: object) => WebpackConfig;
  const config = factory({ output: {}, plugins: [] }, { BannerPlugin: class {} });
  const outDir = posix.relative(ROOT, posix.resolve(ROOT, config.output.path ?? 'dist')); // webpack's default output.path: ./dist
  const outputs = Object.entries(config.entry).map(([name, source]) => [posix.normalize(source), posix.join(outDir, config.output.filename.replace('[name]', name))]);
  return { outDir, outputs: Object.fromEntries(outputs) };
}
/** Built file of each Nest application, by project name (e.g. api → dist/apps/api/main.js). */
const builtFiles = (): Record<string, string> => {
  const { outputs } = webpackBuild();
  return Object.fromEntries(applications.map(([name, p]) => [name, outputs[posix.join(p.sourceRoot, `${p.entryFile}.ts`)]]));
};

const entrypoint = read('deploy/docker-entrypoint.sh');

/**
 * The entry point run for a role with a stand-in `node` first on PATH, which prints its process id,
 * NODE_OPTIONS and its arguments instead of starting anything: what the container would run.
 */
function runEntrypoint(args: string[], env: Record<string, string> = {}): { exec: boolean; nodeOptions: string; argv: string[] } {
  const bin = mkdtempSync(join(tmpdir(), 'pollarix-node-stub-'));
  try {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\nprintf \'%s\\n\' "$$" "${NODE_OPTIONS-}" "$@"\n', { mode: 0o755 });
    const result = spawnSync('sh', [join(ROOT, 'deploy/docker-entrypoint.sh'), ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin`, ...env },
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`docker-entrypoint.sh ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    const [pid, nodeOptions, ...argv] = result.stdout.replace(/\n$/, '').split('\n');
    // exec: node replaces the shell (PID 1 in the container) and gets SIGTERM itself, so the graceful shutdown runs.
    return { exec: Number(pid) === result.pid, nodeOptions, argv };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

/** The CLI's command tree, as apps/cli/src/main.ts builds it. */
function cliProgram(): Command {
  const program = new Command('pollarix-webhooks');
  for (const register of [registerTokenCommands, registerEventCommands, registerWebhookCommands, registerMigrationCommands, registerDevCommand]) register(program);
  return program;
}
/** The command that words name (`migration run`), or undefined. */
function cliCommand(words: string[]): Command | undefined {
  let command: Command | undefined = cliProgram();
  for (const word of words) command = command?.commands.find((c) => c.name() === word);
  return command;
}

/** What each role runs: the Nest application whose bundle it starts. */
const ROLE_APPLICATION: Record<string, string> = { api: 'api', worker: 'worker', migrate: 'cli', cli: 'cli' };

describe('the build and the entry point', () => {
  it('builds every Nest application of nest-cli.json with webpack.config.js', () => {
    const { outputs } = webpackBuild();
    expect(Object.keys(outputs).sort()).toEqual(applications.map(([, p]) => posix.join(p.sourceRoot, `${p.entryFile}.ts`)).sort());
    expect(
      Object.keys(ROLE_APPLICATION)
        .map((role) => ROLE_APPLICATION[role])
        .every((app) => builtFiles()[app]),
    ).toBe(true);
  });

  it('copies what the build reads into the build stage', () => {
    const buildStage = stages.find((s) => s !== runtime && all(s, 'RUN').some((run) => /\b(nest build|npm run build)\b/.test(run.args)));
    expect(buildStage).toBeDefined();
    const copied = copies(buildStage!)
      .filter((c) => !c.from)
      .flatMap((c) => c.sources.map((s) => posix.normalize(s).replace(/\/$/, '')));
    const covered = (file: string) => copied.some((source) => source === '.' || file === source || file.startsWith(`${source}/`));
    const tsconfigs = [nestCli.compilerOptions.tsConfigPath];
    for (let extend; (extend = (JSON.parse(read(tsconfigs[tsconfigs.length - 1])) as { extends?: string }).extends);) tsconfigs.push(posix.normalize(extend));
    const inputs = [
      'package.json',
      'package-lock.json',
      'nest-cli.json',
      nestCli.compilerOptions.webpackConfigPath,
      ...tsconfigs,
      ...Object.values(nestCli.projects).map((p) => p.root),
    ];
    expect(inputs.filter((file) => !covered(file))).toEqual([]);
  });

  it('puts the bundles where the entry point looks for them', () => {
    const buildStage = stages.find((s) => s !== runtime && all(s, 'RUN').some((run) => /\b(nest build|npm run build)\b/.test(run.args)))!;
    const { outDir } = webpackBuild();
    const fromBuild = copies(runtime).find(
      (c) =>
        (c.from === buildStage.name || c.from === String(stages.indexOf(buildStage))) &&
        c.sources.some((s) => inStage(workdirOf(buildStage), s) === inStage(workdirOf(buildStage), outDir)),
    );
    expect(fromBuild).toBeDefined();
    // The entry point runs the bundles by paths relative to the runtime WORKDIR.
    expect(inStage(workdirOf(runtime), fromBuild!.destination)).toBe(inStage(workdirOf(runtime), outDir));
  });

  it('is a POSIX shell script that stops on the first error', () => {
    expect(entrypoint).toMatch(/^#!\/bin\/(sh|bash)\n/);
    expect(entrypoint).toMatch(/^set -e/m);
  });

  it.each(Object.keys(ROLE_APPLICATION))('role %s execs node on the bundle the build produces', (role) => {
    const run = runEntrypoint(role === 'cli' ? [role, 'token', 'list'] : [role]);
    expect(run.exec).toBe(true);
    expect(run.argv[0]).toBe(builtFiles()[ROLE_APPLICATION[role]]);
  });

  it('role cli passes its arguments on to the CLI', () => {
    expect(runEntrypoint(['cli', 'token', 'create', '--department', 'a b']).argv.slice(1)).toEqual(['token', 'create', '--department', 'a b']);
  });

  it('runs the worker with WORKER_NODE_FLAGS unless NODE_OPTIONS is set', () => {
    expect(runEntrypoint(['worker']).nodeOptions).toBe(WORKER_NODE_FLAGS.join(' '));
    expect(runEntrypoint(['worker'], { NODE_OPTIONS: '--max-old-space-size=512' }).nodeOptions).toBe('--max-old-space-size=512');
    expect(runEntrypoint(['api']).nodeOptions).toBe('');
  });

  it('role migrate runs the CLI command that applies the migrations', () => {
    const words = runEntrypoint(['migrate']).argv.slice(1);
    expect(words).toEqual(['migration', 'run']);
    expect(cliCommand(words)?.description()).toMatch(/migration/i);
  });

  it('knows the role of the image default and of every compose service', () => {
    const defaults = [argv(last(runtime, 'CMD')?.args ?? '[]')[0], ...APP_SERVICES.map((name) => words(service(name).command)[0])];
    for (const role of defaults) expect(Object.keys(ROLE_APPLICATION)).toContain(role);
  });
});

// ---------------------------------------------------------------------------------------------------
// What `npm ci --omit=dev` leaves in the image

/** Packages the apps import at run time (type-only imports are erased by the compiler). */
function runtimeImports(): Map<string, string> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ts$/.test(entry.name) && !/\.(spec|e2e-spec|system-spec)\.ts$/.test(entry.name)) files.push(path);
    }
  };
  ['apps', 'libs'].forEach(walk);
  const imports = new Map<string, string>();
  for (const file of files) {
    const statements = /^\s*(?:import\s+(?:([^;'"]*?)\s+from\s+)?|export\s+((?:type\s+)?(?:\*(?:\s+as\s+\w+)?|\{[^}]*\}))\s+from\s+)['"]([^'"]+)['"]/gm;
    for (const [, imported, exported, specifier] of read(file).matchAll(statements)) {
      const clause = (imported ?? exported ?? '').trim();
      if (/^type\b/.test(clause) || /^\{\s*(type\s+\w+(\s+as\s+\w+)?\s*,?\s*)+\}$/.test(clause)) continue;
      if (specifier.startsWith('.') || specifier.startsWith('@pollarix/') || isBuiltin(specifier)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
      if (!imports.has(name)) imports.set(name, file);
    }
  }
  return imports;
}

describe('the production dependencies', () => {
  it('include every package the apps import (webpack leaves node_modules external)', () => {
    const missing = [...runtimeImports()]
      .filter(([name]) => {
        const entry = lock.packages[`node_modules/${name}`];
        return !entry || entry.dev;
      })
      .map(([name, file]) => `${name} (imported by ${file})`);
    expect(missing).toEqual([]);
  });
});
