#!/usr/bin/env node
import { Command } from 'commander';
import { registerDevCommand } from './commands/dev.command';
import { registerEventCommands } from './commands/event.command';
import { registerMigrationCommands } from './commands/migration.command';
import { registerSecretsCommands } from './commands/secrets.command';
import { registerTokenCommands } from './commands/token.command';
import { registerWebhookCommands } from './commands/webhook.command';
import { reportError } from './cli-error';

const program = new Command('pollarix-webhooks')
  .description('Pollarix Webhooks command line: tokens, events, webhook recovery, migrations, secrets re-encryption, local development stack')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerTokenCommands(program);
registerEventCommands(program);
registerWebhookCommands(program);
registerMigrationCommands(program);
registerSecretsCommands(program);
registerDevCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.exit(reportError(error));
});
