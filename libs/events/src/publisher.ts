import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { MicroBatcher, newId } from '@pollarix/common';
import { Database, EventEntity, NewEvent, StoredEvents } from '@pollarix/database';
import { addDeliverJobs, CARRIED_EVENT_BYTES, ScheduledAttempt } from '@pollarix/queue';
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

/** One publish call's events, validated and deduplicated, as the group commit takes them. */
type PublishRequest = NewEvent[];
/** What a request's commit gave: the events it stored, or why it stored nothing. */
type Committed = { inserted: Set<string> } | { conflict: EventIdConflictError };

/** The deliver job data for an event's new delivery: small events travel in the job (CARRIED_EVENT_BYTES). */
function firstAttempt(delivery: StoredEvents['deliveries'][number], event: NewEvent, dataBytes: number): ScheduledAttempt {
  if (dataBytes > CARRIED_EVENT_BYTES) return delivery;
  return {
    ...delivery,
    carried: {
      chainStart: 0,
      createdAt: delivery.createdAt.toISOString(),
      event: { id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data },
    },
  };
}

/**
 * Splits a group commit's requests into rounds, each stored by one statement, in which no event id appears
 * twice: a request repeating an id of an earlier request waits for a later round (it then meets the
 * stored event, as a repeat does). Requests keep their order; `index` is their place in `requests`.
 */
export function commitRounds<R extends { id: string }[]>(requests: R[]): { request: R; index: number }[][] {
  const rounds: { request: R; index: number }[][] = [];
  let waiting = requests.map((request, index) => ({ request, index }));
  while (waiting.length > 0) {
    const ids = new Set<string>();
    const round: typeof waiting = [];
    const later: typeof waiting = [];
    for (const item of waiting) {
      if (item.request.some((e) => ids.has(e.id))) later.push(item);
      else {
        item.request.forEach((e) => ids.add(e.id));
        round.push(item);
      }
    }
    rounds.push(round);
    waiting = later;
  }
  return rounds;
}

/**
 * Publishes events: validated against the catalog, then stored in PostgreSQL with their deliveries, one
 * per subscribed webhook, in one statement (the acknowledgement point), then their first attempts are
 * queued. A repeated id is accepted once and answered with the first event. Should the queue be
 * unreachable after the store, the worker's sweeper queues the attempts later.
 *
 * Group commit: calls arriving while a commit is in flight are stored together by the next statement,
 * and each call returns only once its own events are committed. One call's events are all or none: a
 * call holding another department's event id stores nothing, and fails alone.
 */
export class EventPublisher implements OnApplicationShutdown {
  private readonly logger = new Logger(EventPublisher.name);
  private readonly commits = new MicroBatcher((requests: PublishRequest[]) => this.commit(requests), {
    maxBatch: 64,
    // One commit at a time: what arrives meanwhile joins the next one (fewer, larger transactions).
    maxInFlight: 1,
    // A request whose rows PostgreSQL refuses fails alone; the others of its commit are stored again without it.
    onItemFailure: (request, error) => this.logger.warn(`Could not store ${request.length} event(s) (${(error as Error)?.message ?? error})`),
  });

  constructor(
    private readonly db: Database,
    private readonly deliveries: Queue,
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
    const committed = unique.length === 0 ? { inserted: new Set<string>() } : await this.commits.add(unique);
    if ('conflict' in committed) throw committed.conflict;
    const { inserted } = committed;
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
    return { events: result, stored: unique.filter((e) => inserted.has(e.id)).map(({ id, type }) => ({ id, type })) };
  }

  /** A process stopping waits for the commits under way. */
  onApplicationShutdown(): Promise<void> {
    return this.commits.drain();
  }

  /**
   * Stores the requests' events and deliveries in one statement per round (a round never holds one id
   * twice: a request repeating an id of an earlier request of this commit waits for the next round),
   * then queues the first attempts of every delivery stored, in one call.
   */
  private async commit(requests: PublishRequest[]): Promise<Committed[]> {
    const results = new Array<Committed>(requests.length);
    const attempts: ScheduledAttempt[] = [];
    for (const round of commitRounds(requests)) {
      const sizes = new Map<string, number>();
      const rows = round.flatMap(({ request }, group) =>
        request.map((event) => {
          sizes.set(event.id, JSON.stringify(event.data).length);
          return { ...event, group };
        }),
      );
      const stored = await this.db.repos.events.insertWithDeliveries(rows);
      const byId = new Map(rows.map((e) => [e.id, e]));
      for (const delivery of stored.deliveries) attempts.push(firstAttempt(delivery, byId.get(delivery.eventId)!, sizes.get(delivery.eventId)!));
      round.forEach(({ index }, group) => {
        const foreign = stored.foreign.get(group);
        results[index] = foreign === undefined ? { inserted: stored.inserted } : { conflict: new EventIdConflictError(foreign) };
      });
    }
    try {
      await addDeliverJobs(this.deliveries, attempts);
    } catch (error) {
      this.logger.warn(`Stored ${attempts.length} deliveries but could not queue their first attempts (${(error as Error).message}); the sweeper will`);
    }
    return results;
  }
}
