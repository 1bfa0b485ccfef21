#!/usr/bin/env node
import { Command } from 'commander';
import { registerDevCommand } from './commands/dev.command';
import { registerMigrationCommands } from './commands/migration.command';
import { registerTokenCommands } from './commands/token.command';
import { reportError } from './cli-error';

const program = new Command('pollarix-webhooks')
  .description('Pollarix Webhooks command line: tokens, migrations, local development stack')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerTokenCommands(program);
registerMigrationCommands(program);
registerDevCommand(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.exit(reportError(error));
});
