import { plainToInstance, Transform } from 'class-transformer';
import { getMetadataStorage, IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, validateSync, ValidateBy } from 'class-validator';
import { parseRedisUrl, redactUrl, RedisUrlError } from './redis-url';
import { parseDuration, parseDurationList } from './duration';
import { parseKeyRing } from './key-ring';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value;
};

/** TRUST_PROXY: a boolean (true = one hop) or a count of hops; anything else is left for the validators to refuse. */
const toProxyHops = ({ value }: { value: unknown }) => {
  const flag = toBool({ value });
  if (typeof flag === 'boolean') return flag ? 1 : 0;
  return typeof value === 'string' && /^\d{1,2}$/.test(value.trim()) ? Number(value.trim()) : value;
};

/** REDIS_URL is valid exactly when libs/redis can connect with it: one parser, one message per mistake. */
function IsRedisUrl(): PropertyDecorator {
  const problem = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return 'must be a string';
    try {
      parseRedisUrl(value);
      return undefined;
    } catch (error) {
      if (error instanceof RedisUrlError) return error.message;
      throw error;
    }
  };
  return ValidateBy({
    name: 'isRedisUrl',
    validator: { validate: (value) => problem(value) === undefined, defaultMessage: (args) => problem(args?.value) ?? 'is invalid' },
  });
}

/**
 * A value libs/config's duration parser accepts (one grammar: what validates is what loadConfig parses).
 * `example` goes into the message, e.g. "must be a duration like 30s".
 */
function IsDuration(example: string, range?: { minMs: number; maxMs: number }): PropertyDecorator {
  const fits = (ms: number | undefined) => ms !== undefined && (range === undefined || (ms >= range.minMs && ms <= range.maxMs));
  return ValidateBy({
    name: 'isDuration',
    validator: {
      validate: (value) => typeof value === 'string' && fits(parseDuration(value)),
      defaultMessage: () => `must be a duration like ${example}${range ? ` between ${range.minMs} ms and ${range.maxMs} ms` : ''}`,
    },
  });
}

/** A comma-separated list of durations parseDurationList accepts. */
function IsDurationList(example: string): PropertyDecorator {
  return ValidateBy({
    name: 'isDurationList',
    validator: {
      validate: (value) => typeof value === 'string' && parseDurationList(value) !== undefined,
      defaultMessage: () => `must be a comma-separated list of durations like ${example}`,
    },
  });
}

/** One key or a key ring parseKeyRing accepts. */
function IsKeyRing(): PropertyDecorator {
  return ValidateBy({
    name: 'isKeyRing',
    validator: {
      validate: (value) => typeof value === 'string' && parseKeyRing(value) !== undefined,
      defaultMessage: () => 'must be 32-byte keys (64 hex or 44 base64 characters each), several comma-separated newest first, each listed once',
    },
  });
}

/**
 * Every environment variable the service reads (SPEC §3), with its rule. The README's configuration
 * table is checked against this class by a test, so adding a variable here means documenting it.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsIn(['development', 'production', 'test'])
  NODE_ENV?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT?: number;

  @IsOptional()
  @IsString()
  HOST?: string;

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'must be a postgres:// connection string' })
  DATABASE_URL?: string;

  @IsOptional()
  @IsRedisUrl()
  REDIS_URL?: string;

  /** Longest a statement may run (PostgreSQL's statement_timeout, and the client's own bound should the server not answer at all). */
  @IsOptional()
  @IsDuration('5s', { minMs: 100, maxMs: 600_000 })
  DATABASE_STATEMENT_TIMEOUT?: string;

  /** Longest to wait for a PostgreSQL connection: a new one's handshake, or a free one from the pool. */
  @IsOptional()
  @IsDuration('5s', { minMs: 100, maxMs: 600_000 })
  DATABASE_CONNECT_TIMEOUT?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  WORKER_CONCURRENCY?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_HTTP_PORT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  API_METRICS_PORT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  DELIVERY_TIMEOUT_MS?: number;

  @IsOptional()
  @IsDurationList('5s,5m,30m')
  DELIVERY_RETRY_SCHEDULE?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  WEBHOOK_MAX_IN_FLIGHT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  DEPARTMENT_MAX_IN_FLIGHT?: number;

  @IsOptional()
  @IsDuration('30s')
  QUEUE_LOCK_DURATION?: string;

  @IsOptional()
  @IsDuration('30s')
  SWEEPER_INTERVAL?: string;

  @IsOptional()
  @IsDuration('1m')
  SWEEPER_GRACE?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  DELIVERY_ALLOW_PRIVATE_NETWORKS?: boolean;

  @IsOptional()
  @IsKeyRing()
  SECRETS_ENCRYPTION_KEY?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_PER_MINUTE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  RATE_LIMIT_PUBLISH_PER_MINUTE?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  MAX_WEBHOOKS_PER_DEPARTMENT?: number;

  @IsOptional()
  @IsDuration('5d or 12h')
  AUTO_DISABLE_AFTER?: string;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  AUTO_DISABLE_MIN_FAILURES?: number;

  @IsOptional()
  @IsDuration('12h')
  SESSION_TTL?: string;

  @IsOptional()
  @IsDuration('30d')
  EVENT_RETENTION?: string;

  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  MIGRATIONS_RUN?: boolean;

  /** How many proxy hops in front to trust: false/0 none, true/1 the one in front, 2–10 a chain (e.g. CDN then load balancer). */
  @IsOptional()
  @Transform(toProxyHops)
  @IsInt({ message: 'TRUST_PROXY must be true, false or a number of proxy hops from 0 to 10' })
  @Min(0, { message: 'TRUST_PROXY must be true, false or a number of proxy hops from 0 to 10' })
  @Max(10, { message: 'TRUST_PROXY must be true, false or a number of proxy hops from 0 to 10' })
  TRUST_PROXY?: number;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @IsOptional()
  @IsString()
  DATA_DIR?: string;

  /** Unset: derived from DATA_DIR's absolute path, one stack per clone (see @pollarix/devinfra stack.ts). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  DEV_POSTGRES_PORT?: number;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  DEV_REDIS_PORT?: number;
}

/** The names of every variable above, read from class-validator's metadata (the README is checked against it). */
export const ENVIRONMENT_VARIABLES: readonly string[] = Object.freeze([
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((m) => m.propertyName),
  ),
]);

export class ConfigError extends Error {}

/** A bad value as the error line shows it: never a key, never a password in a URL. */
function shown(name: string, value: unknown): string {
  if (name === 'SECRETS_ENCRYPTION_KEY') return `${String(value).length} characters`;
  if (name.endsWith('_URL')) return JSON.stringify(redactUrl(String(value)));
  return JSON.stringify(value);
}

/** Validates raw variables; throws one ConfigError whose message names every bad variable. */
export function validateEnvironment(raw: Record<string, string | undefined>): EnvironmentVariables {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(EnvironmentVariables, present, { excludeExtraneousValues: false });
  const errors = validateSync(env, { skipMissingProperties: false });
  const problems = errors.map((e) => {
    const message = Object.values(e.constraints ?? {})[0]?.replace(`${e.property} `, '') ?? 'is invalid';
    return `${e.property} ${message} (got ${shown(e.property, present[e.property])})`;
  });
  if (problems.length > 0) throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  return env;
}
