import { loadConfig } from '@pollarix/config';
import { reEncryptSecrets, ReEncryptResult } from '@pollarix/database';
import { Command, InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error';
import { withDatabase } from '../infra/database';
import { Progress, progress } from '../infra/progress';

function pageSize(value: string): number {
  const size = Number(value);
  if (!Number.isInteger(size) || size < 1 || size > 10_000) throw new InvalidArgumentError('A whole number from 1 to 10000.');
  return size;
}

/** The run's counts, one line. */
function describeReEncrypt(result: ReEncryptResult): string {
  return [
    `Re-encrypted ${result.reEncrypted} of ${result.rows} rows`,
    `${result.current} already under the newest key`,
    `${result.busy} changed by the service on every try (run again)`,
    `${result.unreadable.length} unreadable`,
    // Named only when there are some: the line stays as it was otherwise.
    ...(result.expired > 0 ? [`${result.expired} expired (no longer read), left as they are`] : []),
  ].join('; ');
}

/** Rows named in an error line: the first twenty (a wrong ring makes every row unreadable). */
function listed(rows: string[]): string {
  const shown = rows.slice(0, 20).join(', ');
  return rows.length > 20 ? `${shown} and ${rows.length - 20} more` : shown;
}

export function registerSecretsCommands(program: Command): void {
  const secrets = program.command('secrets').description('values encrypted at rest (SECRETS_ENCRYPTION_KEY)');

  secrets
    .command('re-encrypt')
    .description("seal every encrypted value again under SECRETS_ENCRYPTION_KEY's newest (first) key; safe while the service runs, rerunnable")
    .option('--page-size <rows>', 'rows read per query', pageSize, 500)
    .action(async (options: { pageSize: number }) => {
      const result = await withDatabase(loadConfig(), { migrateLocal: true }, async ({ dataSource, box }) => {
        process.stderr.write(`Sealing under key ${box.keyId}\n`);
        let bar: Progress | undefined;
        try {
          return await reEncryptSecrets(dataSource.manager, box, {
            pageSize: options.pageSize,
            progress: { start: (total) => (bar = progress('Re-encrypted', total)), update: (done) => bar?.update(done) },
          });
        } finally {
          bar?.finish();
        }
      });
      process.stdout.write(`${describeReEncrypt(result)}\n`);
      if (result.unreadable.length > 0) {
        throw new CliError(
          `no key of SECRETS_ENCRYPTION_KEY opens ${result.unreadable.length} row(s), whose webhooks cannot deliver until their key is listed again or their values are rewritten: ${listed(result.unreadable)}`,
        );
      }
      if (result.busy > 0) throw new CliError(`${result.busy} row(s) kept changing under this run: run it again`);
    });
}
