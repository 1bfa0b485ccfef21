import { OPERATOR_TOKEN, TokenService } from '@pollarix/auth';
import { SecretBox } from '@pollarix/common';
import { AppConfig, loadConfig, readEnvFile, WORKER_NODE_FLAGS } from '@pollarix/config';
import { dataSourceOptions, Repositories, TokenScope } from '@pollarix/database';
import { waitFor } from '@pollarix/devinfra';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { CliError } from '../cli-error';
import { Say, startLocalDatabase, startLocalRedisServer } from '../infra/local-services';
import { DevProcesses } from '../dev/dev-processes';
import { httpAnswers, IssuedToken, probeHost, readyBanner } from '../dev/ready';

const DEMO_TOKEN = {
  name: 'npm start demo token',
  departments: ['dept_demo'],
  scopes: ['webhooks:read', 'webhooks:write', 'events:publish', 'admin'] as TokenScope[],
};
/** The operator's token: admin over every department, for the queue dashboard. */
const OPERATOR_DEMO_TOKEN = { name: 'npm start operator token', departments: [...OPERATOR_TOKEN.departments], scopes: [...OPERATOR_TOKEN.scopes] };
const API_READY_TIMEOUT_MS = 90_000;

const say: Say = (line) => process.stdout.write(`[dev] ${line}\n`);

/** dist/apps/<app>/main.js, beside this bundle (dist/apps/cli/main.js). */
function appScript(app: 'api' | 'worker'): string {
  const script = resolve(__dirname, '..', app, 'main.js');
  if (!existsSync(script)) throw new CliError(`${script} is missing: run \`npm run build\` (npm start does)`);
  return script;
}

/** Set by the user, in the environment or in .env (the defaults below must not override either). */
function isSetByUser(name: string): boolean {
  return process.env[name] !== undefined || Object.hasOwn(readEnvFile(), name);
}

/**
 * The apps read their configuration from the environment, as in production; dev adds the connections
 * it brought up and its defaults.
 */
function appEnvironment(databaseUrl: string, redisUrl: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
  if (!isSetByUser('DELIVERY_ALLOW_PRIVATE_NETWORKS')) {
    env.DELIVERY_ALLOW_PRIVATE_NETWORKS = 'true';
    say(
      'WARNING: DELIVERY_ALLOW_PRIVATE_NETWORKS=true (the npm start default) lets webhooks target localhost and ' +
        'private networks; set DELIVERY_ALLOW_PRIVATE_NETWORKS=false to enforce the production SSRF rules.',
    );
  }
  return env;
}

/** Applies migrations and issues fresh demo and operator tokens, revoking the ones earlier starts left behind. */
async function prepareDatabase(config: AppConfig, databaseUrl: string): Promise<{ department: IssuedToken; operator: IssuedToken }> {
  const dataSource = new DataSource(dataSourceOptions(databaseUrl, { logging: false }));
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    say(applied.length ? `Applied ${applied.length} migration(s)` : 'Database schema is up to date');
    const tokens = new TokenService(new Repositories(dataSource.manager, new SecretBox(config.secretsEncryptionKeys)));
    const issued = [DEMO_TOKEN, OPERATOR_DEMO_TOKEN];
    for (const old of await tokens.list()) {
      if (issued.some((t) => t.name === old.name) && old.revokedAt === null) await tokens.revoke(old.id);
    }
    const [department, operator] = await Promise.all(
      issued.map(async (t): Promise<IssuedToken> => ({ ...t, secret: (await tokens.create({ departments: t.departments, scopes: t.scopes, name: t.name })).secret })),
    );
    return { department, operator };
  } finally {
    await dataSource.destroy();
  }
}

async function runDev(): Promise<number> {
  const config = loadConfig();
  const scripts = { api: appScript('api'), worker: appScript('worker') };
  const processes = new DevProcesses(say, config.deliveryTimeoutMs + 10_000);

  // A signal during the (short) start-up steps is honoured between steps, so nothing started is left behind.
  let starting = true;
  let stopRequested = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested || processes.isStopping) return;
    say(`${signal}: stopping…`);
    stopRequested = true;
    if (!starting) void processes.stop(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  try {
    const databaseUrl = config.databaseUrl ?? processes.adopt('PostgreSQL', await startLocalDatabase(config, say)).url;
    if (stopRequested) return await processes.stop(0);
    const redisUrl = config.redisUrl ?? processes.adopt('Redis', await startLocalRedisServer(config, say)).url;
    if (stopRequested) return await processes.stop(0);
    const tokens = await prepareDatabase(config, databaseUrl);
    if (stopRequested) return await processes.stop(0);

    const env = appEnvironment(databaseUrl, redisUrl);
    starting = false;
    processes.spawn('api', scripts.api, env);
    processes.spawn('worker', scripts.worker, env, WORKER_NODE_FLAGS);

    const host = probeHost(config);
    try {
      await waitFor(async () => processes.isStopping || (await httpAnswers(host, config.port, '/health/live')), API_READY_TIMEOUT_MS, `the API on port ${config.port}`);
    } catch (error) {
      say(`${(error as Error).message}: stopping`);
      return await processes.stop(1);
    }
    if (!processes.isStopping) {
      process.stdout.write(readyBanner(config, tokens));
    }
    return await processes.stopped;
  } catch (error) {
    await processes.stop(1);
    throw error;
  }
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run PostgreSQL, Redis, the API and one worker locally (what `npm start` runs)')
    .action(async () => {
      process.exit(await runDev());
    });
}
