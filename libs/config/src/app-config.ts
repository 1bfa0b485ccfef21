import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDuration, parseDurationList } from './duration';
import { readEnvFile } from './env-file';
import { ConfigError, validateEnvironment } from './environment';
import { parseKeyRing } from './key-ring';

const DEFAULT_PORT = 3000;
const DEFAULT_API_METRICS_PORT = 9465;
const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h,10h';

export interface LoadConfigOptions {
  /** Apps that serve traffic need both connections; the CLI and dev tooling can bring up local ones. */
  requireConnections?: boolean;
  env?: Record<string, string | undefined>;
  /** The optional .env file; default `.env` in the working directory. */
  envFile?: string;
}

/** The validated, typed configuration. The only place in the code base that reads process.env. */
/**
 * 25,000 events/s over a minute: a producer sustaining 20,000/s in batches stays clear of it (a fixed
 * window of exactly 20,000/s would end at its edge), one at 500 single events/s by far; a runaway loop
 * of batches beyond it is stopped.
 */
export const DEFAULT_PUBLISH_EVENTS_PER_MINUTE = 1_500_000;

export class AppConfig {
  readonly nodeEnv!: 'development' | 'production' | 'test';
  readonly port!: number;
  readonly host!: string;
  /** Proxy hops in front whose X-Forwarded-* are believed (0: none). */
  readonly trustProxy!: number;
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** PostgreSQL's statement_timeout for the API and worker; the client gives up shortly after (see libs/database). */
  readonly databaseStatementTimeoutMs!: number;
  /** Longest wait for a PostgreSQL connection (a new one's handshake, or a free one from the pool). */
  readonly databaseConnectTimeoutMs!: number;
  readonly dataDir!: string;
  readonly workerConcurrency!: number;
  readonly workerHttpPort!: number;
  /** The API's internal port for /metrics (0: any free port, announced in the log); never the public PORT. */
  readonly apiMetricsPort!: number;
  readonly deliveryTimeoutMs!: number;
  readonly deliveryRetryScheduleMs!: readonly number[];
  readonly deliveryAllowPrivateNetworks!: boolean;
  /** Attempts in flight per webhook per worker process, so one slow receiver cannot take every slot. */
  readonly webhookMaxInFlight!: number;
  /** Attempts in flight per department per worker process, so one tenant's webhooks together cannot take every slot. */
  readonly departmentMaxInFlight!: number;
  /** BullMQ lock duration and stalled-job check interval: how soon a killed worker's jobs run again. */
  readonly queueLockDurationMs!: number;
  readonly sweeperIntervalMs!: number;
  /** How overdue a pending delivery or an unqueued event must be before the sweeper re-queues it. */
  readonly sweeperGraceMs!: number;
  /** SECRETS_ENCRYPTION_KEY's key ring, newest first: the newest seals values at rest, every key opens them. */
  readonly secretsEncryptionKeys!: readonly Buffer[];
  readonly rateLimitPerMinute!: number;
  /** Events a token may publish per minute through POST /internal/events(/batch), counted apart from rateLimitPerMinute. */
  readonly rateLimitPublishPerMinute!: number;
  readonly maxWebhooksPerDepartment!: number;
  readonly autoDisableAfterMs!: number;
  readonly autoDisableMinFailures!: number;
  readonly sessionTtlMs!: number;
  readonly eventRetentionMs!: number;
  readonly migrationsRun!: boolean;
  readonly logLevel!: string;
  /** Ports of the local PostgreSQL and Redis of `npm start`; unset: derived from DATA_DIR's path (one stack per clone). */
  readonly devPostgresPort?: number;
  readonly devRedisPort?: number;

  constructor(values: Omit<AppConfig, 'isProduction'>) {
    Object.assign(this, values);
  }

  get isProduction(): boolean {
    return this.nodeEnv === 'production';
  }
}

/** Development convenience: a key generated once into the data directory, never in production. */
function devEncryptionKey(dataDir: string): Buffer {
  const path = join(dataDir, 'secrets-encryption.key');
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  // Variables already in the environment win over the optional .env file.
  const raw = { ...readEnvFile(options.envFile), ...(options.env ?? process.env) };
  const env = validateEnvironment(raw);
  const nodeEnv = (env.NODE_ENV ?? 'development') as AppConfig['nodeEnv'];
  const dataDir = resolve(env.DATA_DIR ?? '.data');

  if (options.requireConnections) {
    for (const name of ['DATABASE_URL', 'REDIS_URL'] as const) {
      if (!env[name]) {
        throw new ConfigError(`Invalid configuration: ${name} is required (npm start provides local defaults)`);
      }
    }
  }
  // The ports as they will be, defaults included: PORT=9465 alone meets the default metrics port.
  const apiMetricsPort = env.API_METRICS_PORT ?? DEFAULT_API_METRICS_PORT;
  if (apiMetricsPort !== 0 && apiMetricsPort === (env.PORT ?? DEFAULT_PORT)) {
    throw new ConfigError('Invalid configuration: API_METRICS_PORT must differ from PORT (metrics stay off the public port)');
  }
  if (nodeEnv === 'production' && !env.SECRETS_ENCRYPTION_KEY) {
    throw new ConfigError('Invalid configuration: SECRETS_ENCRYPTION_KEY is required in production');
  }

  return new AppConfig({
    nodeEnv,
    port: env.PORT ?? DEFAULT_PORT,
    host: env.HOST ?? '0.0.0.0',
    trustProxy: env.TRUST_PROXY ?? 0,
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    databaseStatementTimeoutMs: parseDuration(env.DATABASE_STATEMENT_TIMEOUT ?? '5s')!,
    databaseConnectTimeoutMs: parseDuration(env.DATABASE_CONNECT_TIMEOUT ?? '5s')!,
    dataDir,
    workerConcurrency: env.WORKER_CONCURRENCY ?? 100,
    workerHttpPort: env.WORKER_HTTP_PORT ?? 9464,
    apiMetricsPort,
    deliveryTimeoutMs: env.DELIVERY_TIMEOUT_MS ?? 15_000,
    deliveryRetryScheduleMs: parseDurationList(env.DELIVERY_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE)!,
    deliveryAllowPrivateNetworks: env.DELIVERY_ALLOW_PRIVATE_NETWORKS ?? false,
    webhookMaxInFlight: env.WEBHOOK_MAX_IN_FLIGHT ?? Math.max(1, Math.ceil((env.WORKER_CONCURRENCY ?? 100) / 2)),
    departmentMaxInFlight: env.DEPARTMENT_MAX_IN_FLIGHT ?? Math.max(1, Math.ceil((env.WORKER_CONCURRENCY ?? 100) / 2)),
    queueLockDurationMs: parseDuration(env.QUEUE_LOCK_DURATION ?? '30s')!,
    sweeperIntervalMs: parseDuration(env.SWEEPER_INTERVAL ?? '30s')!,
    sweeperGraceMs: parseDuration(env.SWEEPER_GRACE ?? '1m')!,
    secretsEncryptionKeys: env.SECRETS_ENCRYPTION_KEY ? parseKeyRing(env.SECRETS_ENCRYPTION_KEY)! : [devEncryptionKey(dataDir)],
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE ?? 600,
    rateLimitPublishPerMinute: env.RATE_LIMIT_PUBLISH_PER_MINUTE ?? DEFAULT_PUBLISH_EVENTS_PER_MINUTE,
    maxWebhooksPerDepartment: env.MAX_WEBHOOKS_PER_DEPARTMENT ?? 20,
    autoDisableAfterMs: parseDuration(env.AUTO_DISABLE_AFTER ?? '5d')!,
    autoDisableMinFailures: env.AUTO_DISABLE_MIN_FAILURES ?? 10,
    sessionTtlMs: parseDuration(env.SESSION_TTL ?? '12h')!,
    eventRetentionMs: parseDuration(env.EVENT_RETENTION ?? '30d')!,
    migrationsRun: env.MIGRATIONS_RUN ?? false,
    logLevel: env.LOG_LEVEL ?? 'info',
    devPostgresPort: env.DEV_POSTGRES_PORT,
    devRedisPort: env.DEV_REDIS_PORT,
  });
}
