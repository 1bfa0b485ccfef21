import { hostname } from 'node:os';
import pino, { DestinationStream, Logger } from 'pino';
import pretty from 'pino-pretty';

export interface ProcessLoggerOptions {
  /** `service` field of every line: api, worker. */
  service: string;
  /** LOG_LEVEL. */
  level: string;
  /** Paths that never reach the log, should a line ever carry them. */
  redact: string[];
  /** Fields the pretty (terminal) output leaves out, beyond pid, hostname, service and context. */
  prettyIgnore?: string[];
  /** pino-pretty messageFormat for the terminal; context and message by default. */
  prettyMessage?: string;
}

/**
 * A process's root pino logger: JSON lines at LOG_LEVEL on stdout (level names, ISO time), or
 * single-line pino-pretty output when stdout is a terminal. `destination` (tests) replaces stdout.
 */
export function createProcessLogger(options: ProcessLoggerOptions, destination?: DestinationStream): Logger {
  const tty = destination === undefined && process.stdout.isTTY === true;
  return pino(
    {
      level: options.level,
      base: { service: options.service, pid: process.pid, hostname: hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names in JSON ("level":"info"); pino-pretty wants the numbers.
      formatters: tty ? {} : { level: (label) => ({ level: label }) },
      redact: { paths: options.redact, censor: '[redacted]' },
    },
    destination ??
      (tty
        ? pretty({
            colorize: true,
            sync: true,
            singleLine: true,
            translateTime: 'SYS:HH:MM:ss.l',
            ignore: ['pid', 'hostname', 'service', 'context', ...(options.prettyIgnore ?? [])].join(','),
            messageFormat: options.prettyMessage ?? '{if context}[{context}] {end}{msg}',
          })
        : undefined),
  );
}

/**
 * Start-up milestones ("… listening on …", "worker ready") are logged at info even when LOG_LEVEL is
 * warn or error (as PostgreSQL ranks its LOG lines): supervisors and scripts wait for them. silent
 * silences them.
 */
export function announce(logger: Logger, context: string, msg: string): void {
  if (logger.level === 'silent') return;
  logger.child({ context }, { level: logger.isLevelEnabled('info') ? logger.level : 'info' }).info(msg);
}
