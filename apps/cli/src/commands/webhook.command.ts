import { loadConfig } from '@pollarix/config';
import { RECOVERABLE_STATUSES, SweepCursor } from '@pollarix/database';
import { QueueName, queueRestartedPages } from '@pollarix/queue';
import { Command, InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error';
import { withDatabase } from '../infra/database';
import { progress } from '../infra/progress';
import { withQueue } from '../infra/queue';

const RECOVER_PAGE = 500;

interface RecoverOptions {
  department: string;
  webhook: string;
  since: Date;
  until?: Date;
}

function isoTime(value: string): Date {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidArgumentError('Not an ISO-8601 time (e.g. 2026-11-26T10:00:00Z).');
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
      if (until && until <= since) throw new CliError('--until must be after --since');
      const config = loadConfig();
      const requeued = await withDatabase(config, { migrateLocal: true }, async ({ repos }) => {
        const found = await repos.webhooks.findInDepartment(department, webhookId);
        if (!found) throw new CliError(`webhook ${webhookId} not found in department ${department}`);
        if (!found.isActive) {
          throw new CliError(
            `webhook ${webhookId} is inactive${found.disabledReason ? ` (disabled: ${found.disabledReason})` : ''}; activate it before recovering its deliveries`,
          );
        }
        const filter = { webhookId, statuses: RECOVERABLE_STATUSES, since, until };
        const total = await repos.deliveries.countRestartable(filter);
        if (total === 0) return 0;

        return withQueue(config, QueueName.Deliveries, async (queue) => {
          const bar = progress('Re-queued', total);
          try {
            return await queueRestartedPages<SweepCursor>(
              queue,
              (after) => repos.deliveries.restartChains({ ...filter, after }, RECOVER_PAGE),
              (done) => bar.update(done),
            );
          } finally {
            bar.finish();
          }
        });
      });
      process.stdout.write(`Re-queued ${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'}\n`);
    });
}
