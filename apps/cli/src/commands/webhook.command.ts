import { loadConfig } from '@pollarix/config';
import { DeliveryStatus } from '@pollarix/database';
import { addDeliverJobs, QueueName } from '@pollarix/queue';
import { Command, InvalidArgumentError } from 'commander';
import { DataSource } from 'typeorm';
import { CliError } from '../cli-error';
import { withDatabase } from '../infra/database';
import { progress } from '../infra/progress';
import { withQueue } from '../infra/queue';

const RECOVER_PAGE = 500;
const RECOVERABLE: DeliveryStatus[] = ['failed', 'cancelled'];

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

/** The deliveries `restartChains` below will pick up, counted beforehand for the progress bar. */
async function countRecoverable(dataSource: DataSource, webhookId: string, since: Date, until?: Date): Promise<number> {
  const [row]: { n: number }[] = await dataSource.query(
    `SELECT count(*)::int AS n FROM deliveries
      WHERE webhook_id = $1 AND status = ANY($2::varchar[]) AND created_at >= $3 AND ($4::timestamptz IS NULL OR created_at < $4)`,
    [webhookId, RECOVERABLE, since, until ?? null],
  );
  return row.n;
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
      const requeued = await withDatabase(config, { migrateLocal: true }, async ({ dataSource, repos }) => {
        const found = await repos.webhooks.findInDepartment(department, webhookId);
        if (!found) throw new CliError(`webhook ${webhookId} not found in department ${department}`);
        if (!found.isActive) {
          throw new CliError(
            `webhook ${webhookId} is inactive${found.disabledReason ? ` (disabled: ${found.disabledReason})` : ''}; activate it before recovering its deliveries`,
          );
        }
        const total = await countRecoverable(dataSource, webhookId, since, until);
        if (total === 0) return 0;

        return withQueue(config, QueueName.Deliveries, async (queue) => {
          const bar = progress('Re-queued', total);
          let done = 0;
          try {
            for (;;) {
              const jobs = await repos.deliveries.restartChains({ webhookId, statuses: RECOVERABLE, since, until }, RECOVER_PAGE);
              await addDeliverJobs(queue, jobs);
              done += jobs.length;
              if (jobs.length > 0) bar.update(done);
              if (jobs.length < RECOVER_PAGE) return done;
            }
          } finally {
            bar.finish();
          }
        });
      });
      process.stdout.write(`Re-queued ${requeued} ${requeued === 1 ? 'delivery' : 'deliveries'}\n`);
    });
}
