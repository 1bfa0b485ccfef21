import { formatFieldPath } from '@pollarix/common';
import { loadConfig } from '@pollarix/config';
import { Database } from '@pollarix/database';
import { EVENT_CATALOG, EventIdConflictError, EventInput, EventProblem, EventPublisher, EventValidationError, validateEvent } from '@pollarix/events';
import { QueueName } from '@pollarix/queue';
import { Command } from 'commander';
import { CliError, errorMessage } from '../cli-error';
import { withDatabase } from '../infra/database';
import { sendNestLogsToStderr } from '../infra/nest-logger';
import { withQueue } from '../infra/queue';

interface PublishOptions {
  department: string;
  type: string;
  data: string;
  id?: string;
  timestamp?: string;
}

/** One line per problem, located as in the API's error `loc` (e.g. `data.surveyId`, `data.answers[2].value`). */
function notPublished(problems: EventProblem[]): CliError {
  const lines = problems.map((p) => `  ${p.loc.length ? formatFieldPath(p.loc) : 'event'}: ${p.msg}`);
  return new CliError(`event not published:\n${lines.join('\n')}`);
}

function eventInput(options: PublishOptions): EventInput {
  let data: unknown;
  try {
    data = JSON.parse(options.data);
  } catch (error) {
    throw notPublished([{ loc: ['data'], msg: `--data is not valid JSON (${errorMessage(error)})` }]);
  }
  // Shape-checked by validateEvent before anything uses it.
  return {
    type: options.type,
    departmentId: options.department,
    data: data as EventInput['data'],
    ...(options.id !== undefined && { id: options.id }),
    ...(options.timestamp !== undefined && { timestamp: options.timestamp }),
  };
}

export function registerEventCommands(program: Command): void {
  const event = program.command('event').description('publish events, as the other Pollarix services do');
  const types = EVENT_CATALOG.map((entry) => entry.type).join(', ');

  event
    .command('publish')
    .description('validate, store and queue one event for delivery; prints the published event as JSON')
    .requiredOption('--department <id>', 'the department whose webhooks receive it')
    .requiredOption('--type <TYPE>', `one of ${types}`)
    .requiredOption('--data <json>', "the event data, a JSON object checked against the type's schema")
    .option('--id <eventId>', 'event id (default: a new evt_…); an id published before is answered with the first event and nothing is sent again')
    .option('--timestamp <ISO>', 'when the event happened (default: now)')
    .action(async (options: PublishOptions) => {
      // Checked here too so that a bad event fails before any database or Redis is brought up.
      const input = eventInput(options);
      const problems = validateEvent(input);
      if (problems.length > 0) throw notPublished(problems);

      sendNestLogsToStderr();
      const config = loadConfig();
      const published = await withDatabase(config, { migrateLocal: true }, (session) =>
        withQueue(config, QueueName.Deliveries, async (queue) => {
          try {
            return await new EventPublisher(new Database(session.dataSource, config), queue).publish(input);
          } catch (error) {
            if (error instanceof EventValidationError) throw notPublished(error.problems);
            if (error instanceof EventIdConflictError) throw new CliError(`event not published: ${error.message}`);
            throw error;
          }
        }),
      );
      process.stdout.write(`${JSON.stringify(published, null, 2)}\n`);
    });
}
