import { TokenInputError, TokenService, TokenView } from '@pollarix/auth';
import { loadConfig } from '@pollarix/config';
import { TokenScope } from '@pollarix/database';
import { Command } from 'commander';
import { CliError } from '../cli-error';
import { announceRevocation } from '../infra/announce';
import { DatabaseSession, withDatabase } from '../infra/database';

const list = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function withTokens<T>(work: (tokens: TokenService, session: DatabaseSession) => Promise<T>): Promise<T> {
  return withDatabase(loadConfig(), { migrateLocal: true }, (session) => work(new TokenService(session.repos), session));
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function tokenRecord(token: TokenView): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    departments: token.departments,
    scopes: token.scopes,
    created: token.createdAt,
    revoked: token.revokedAt,
  };
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens (stored only as a hash)');

  token
    .command('create')
    .description('create a token; its secret is printed alone on the last line of stdout, once')
    .requiredOption('--department <ids>', "department id(s), comma-separated; '*' for every department", list)
    .option('--scopes <scopes>', 'webhooks:read, webhooks:write, events:publish, admin (default: webhooks:read,webhooks:write)', list)
    .option('--name <text>', 'a label to recognise the token by')
    .action(async (options: { department: string[]; scopes?: string[]; name?: string }) => {
      const { token: created, secret } = await withTokens(async (tokens) => {
        try {
          return await tokens.create({ departments: options.department, scopes: options.scopes as TokenScope[] | undefined, name: options.name });
        } catch (error) {
          if (error instanceof TokenInputError) throw new CliError(error.message);
          throw error;
        }
      });
      process.stderr.write(
        `Created token ${created.id}${created.name ? ` (${created.name})` : ''}\n` +
          `  departments: ${created.departments.join(', ')}\n` +
          `  scopes:      ${created.scopes.join(', ')}\n` +
          'The secret below is shown only now; store it safely.\n',
      );
      process.stdout.write(`${secret}\n`);
    });

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'one JSON object per line')
    .action(async (options: { json?: boolean }) => {
      const tokens = await withTokens((service) => service.list());
      if (options.json) {
        process.stdout.write(tokens.map((t) => `${JSON.stringify(tokenRecord(t))}\n`).join(''));
        return;
      }
      if (tokens.length === 0) {
        process.stderr.write('No tokens yet: create one with `token create --department <id>`.\n');
        return;
      }
      const rows = tokens.map((t) => [t.id, t.name || '-', t.departments.join(','), t.scopes.join(','), t.createdAt, t.revokedAt ?? '-']);
      process.stdout.write(`${table([['ID', 'NAME', 'DEPARTMENTS', 'SCOPES', 'CREATED', 'REVOKED'], ...rows])}\n`);
    });

  token
    .command('revoke')
    .description('revoke a token at once')
    .argument('<tokenId>', 'the id shown by `token list` (tok_…)')
    .action(async (tokenId: string) => {
      const message = await withTokens(async (service) => {
        if (await service.revoke(tokenId)) {
          const warning = await announceRevocation(loadConfig(), tokenId);
          if (warning) process.stderr.write(`warning: ${warning}\n`);
          return `Revoked token ${tokenId}`;
        }
        const existing = (await service.list()).find((t) => t.id === tokenId);
        if (!existing) throw new CliError(`token "${tokenId}" not found (see \`token list\`)`);
        return `Token ${tokenId} was already revoked at ${existing.revokedAt}`;
      });
      process.stdout.write(`${message}\n`);
    });
}
