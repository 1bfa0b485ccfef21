import { parseDateTime } from '@pollarix/common';
import { loadConfig } from '@pollarix/config';
import { DeliveryLifecycle, isRecoverWindow, lifecyclePolicy, LifecycleRefusal } from '@pollarix/lifecycle';
import { QueueName } from '@pollarix/queue';
import { Command, InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error';
import { withDatabase } from '../infra/database';
import { Progress, progress } from '../infra/progress';
import { withQueue } from '../infra/queue';

interface RecoverOptions {
  department: string;
  webhook: string;
  since: Date;
  until?: Date;
}

function isoTime(value: string): Date {
  const time = parseDateTime(value);
  if (!time) throw new InvalidArgumentError('Not an ISO-8601 time in years 100–9999 (e.g. 2026-11-26T10:00:00Z).');
  return time;
}

export function registerWebhookCommands(program: Command): void {
  const webhook = program.command('webhook').description('operate on webhooks');

  webhook
    .command('recover')
    .description("re-queue a webhook's failed and cancelled deliveries created in [since, until), as POST …/recover does")
    .requiredOption('--department <id>', 'the department the webhook belongs to')
    .requiredOption('--webhook <id>', 'the webhook (wh_…)')
    .requiredOption('--since <ISO time>', 'deliveries created at or after this time', isoTime)
    .option('--until <ISO time>', 'deliveries created before this time (default: now)', isoTime)
    .action(async ({ department, webhook: webhookId, since, until }: RecoverOptions) => {
      if (!isRecoverWindow(since, until)) throw new CliError('--until must be after --since');
      const config = loadConfig();
      const requeued = await withDatabase(config, { migrateLocal: true }, ({ repos }) =>
        withQueue(config, QueueName.Deliveries, async (queue) => {
          const lifecycle = new DeliveryLifecycle({ repos, queue, policy: lifecyclePolicy(config) });
          let bar: Progress | undefined;
          try {
            return await lifecycle.recover(
              { departmentId: department, webhookId, since, until },
              { start: (total) => (bar = progress('Re-queued', total)), update: (done) => bar?.update(done) },
            );
          } catch (error) {
            throw refusalError(error, department);
          } finally {
            bar?.finish();
          }
        }),
      );
      process.stdout.write(`Re-queued ${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'}\n`);
    });
}

/** The lifecycle's refusals in the CLI's words. */
function refusalError(error: unknown, department: string): unknown {
  if (!(error instanceof LifecycleRefusal)) return error;
  const { webhookId, details } = error;
  switch (error.reason) {
    case 'webhook_not_found':
      return new CliError(`webhook ${webhookId} not found in department ${department}`);
    case 'webhook_inactive':
      return new CliError(
        `webhook ${webhookId} is inactive${details.disabledReason ? ` (disabled: ${details.disabledReason})` : ''}; activate it before recovering its deliveries`,
      );
    default:
      return new CliError(error.message);
  }
}
