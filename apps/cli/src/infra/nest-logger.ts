import { ConsoleLogger, Logger, LogLevel } from '@nestjs/common';

/** Nest's console logger, but on stderr at every level: a command's stdout stays its result alone. */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, _stream?: 'stdout' | 'stderr', errorStack?: unknown): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

/** Library classes log through Nest's static Logger, which writes warnings to stdout outside an app. */
export function sendNestLogsToStderr(): void {
  Logger.overrideLogger(new StderrLogger());
}
