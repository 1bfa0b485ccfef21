import { Logger } from '@nestjs/common';
import { newId } from '@pollarix/common';
import { Database, EventEntity, NewEvent } from '@pollarix/database';
import { fanOutJobs, QueueName } from '@pollarix/queue';
import type { Queue } from 'bullmq';
import type { EventEnvelope, EventInput } from './envelope';
import { EventProblem, validateEvent, ValidateOptions } from './event-validation';

export const MAX_BATCH_EVENTS = 500;

/** Why events could not be published; `index` locates the event within a batch. */
export class EventValidationError extends Error {
  constructor(readonly problems: (EventProblem & { index?: number })[]) {
    super(problems.map((p) => `${p.loc.join('.') || 'event'}: ${p.msg}`).join('; '));
  }
}

/** An event id given again for another department: it cannot be "the same event". */
export class EventIdConflictError extends Error {
  constructor(readonly eventId: string) {
    super(`Event id ${eventId} is already used by another department`);
  }
}

export function toEnvelope(event: Pick<EventEntity, 'id' | 'type' | 'occurredAt' | 'departmentId' | 'data'>): EventEnvelope<string> {
  return { id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), departmentId: event.departmentId, data: event.data };
}

/**
 * Publishes events: validated against the catalog, stored in PostgreSQL (the acknowledgement point),
 * then queued for fan-out. A repeated id is accepted once and answered with the first event. Should
 * the queue be unreachable after the store, the worker's sweeper queues the fan-out later.
 */
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);

  constructor(
    private readonly db: Database,
    private readonly events: Queue,
  ) {}

  async publish(input: EventInput, options: ValidateOptions = {}): Promise<EventEnvelope<string>> {
    return (await this.publishBatch([input], options))[0];
  }

  /** `serviceTypes`: the service's own operational events (WEBHOOK_DISABLED); producers may not publish them. */
  async publishBatch(inputs: unknown[], options: ValidateOptions = {}): Promise<EventEnvelope<string>[]> {
    return (await this.publishBatchDetailed(inputs, options)).events;
  }

  /** `publishBatch`, also telling which of the answered events this call stored (repeats are not). */
  async publishBatchDetailed(inputs: unknown[], options: ValidateOptions = {}): Promise<{ events: EventEnvelope<string>[]; stored: { id: string; type: string }[] }> {
    if (inputs.length > MAX_BATCH_EVENTS) {
      throw new EventValidationError([{ msg: `A batch holds at most ${MAX_BATCH_EVENTS} events (got ${inputs.length})`, loc: [] }]);
    }
    const problems = inputs.flatMap((input, index) => validateEvent(input, options).map((p) => ({ ...p, index })));
    if (problems.length > 0) throw new EventValidationError(problems);

    const now = new Date();
    const events: NewEvent[] = (inputs as EventInput[]).map((input) => ({
      id: input.id ?? newId('evt'),
      departmentId: input.departmentId,
      type: input.type,
      data: input.data,
      occurredAt: input.timestamp ? new Date(input.timestamp) : now,
    }));
    const unique = [...new Map(events.map((e) => [e.id, e])).values()];
    // One statement stores the new ones; a foreign department's id stores nothing at all.
    const { inserted, foreign } = await this.db.repos.events.insertNew(unique);
    if (foreign.length > 0) throw new EventIdConflictError(foreign[0]);
    // Repeats (and ids inserted concurrently by another publisher) are answered with the stored event.
    const existing = new Map((await this.db.repos.events.findByIds(unique.filter((e) => !inserted.has(e.id)).map((e) => e.id))).map((e) => [e.id, e]));
    for (const event of unique) {
      const earlier = existing.get(event.id);
      if (earlier && earlier.departmentId !== event.departmentId) throw new EventIdConflictError(event.id);
    }
    const result = events.map((event) => {
      const earlier = existing.get(event.id);
      return earlier ? toEnvelope(earlier) : toEnvelope(event);
    });

    const fresh = unique.filter((e) => inserted.has(e.id));
    try {
      await this.events.addBulk(fanOutJobs(fresh.map((e) => e.id)));
    } catch (error) {
      this.logger.warn(`Stored ${fresh.length} event(s) but could not queue their fan-out (${(error as Error).message}); the sweeper will`);
    }
    return { events: result, stored: fresh.map(({ id, type }) => ({ id, type })) };
  }
}

export const EVENTS_QUEUE = QueueName.Events;
