import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { MicroBatcher, newId } from '@pollarix/common';
import { Database, EventEntity, NewEvent } from '@pollarix/database';
import { addDeliverJobs, CARRIED_EVENT_BYTES, CarriedDelivery, ScheduledAttempt } from '@pollarix/queue';
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
/** What a request's commit gave: the events it stored and their first attempts to queue, or why it stored nothing. */
type Committed = { inserted: Set<string>; attempts: ScheduledAttempt[] } | { conflict: EventIdConflictError };

/** What an event's deliver jobs carry (small events only: CARRIED_EVENT_BYTES), or null. */
function carriedFacts(event: NewEvent & { dataJson: string }, createdAt: Date): CarriedDelivery | null {
  if (event.dataJson.length > CARRIED_EVENT_BYTES) return null;
  return {
    chainStart: 0,
    createdAt: createdAt.toISOString(),
    event: { id: event.id, type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data },
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
    // One commit at a time: what arrives meanwhile joins the next one (fewer, larger transactions). Two
    // in flight took publish → stored from 2.0 to 0.7 ms at 500 single publishes/s but the commits then
    // contended for the WAL flush: p50 to the receiver 9.7 ms against 8.3 (npm run bench:delivery).
    maxInFlight: 1,
    // A request whose rows PostgreSQL refuses fails alone; the others of its commit are stored again without it.
    onItemFailure: (request, error) => this.logger.warn(`Could not store ${request.length} event(s) (${(error as Error)?.message ?? error})`),
  });
  /**
   * The first attempts of committed deliveries, queued with one addBulk for every call whose commit
   * ended meanwhile: the next commit does not wait for Redis, and each call returns once its own are queued.
   */
  private readonly queueing = new MicroBatcher((batches: ScheduledAttempt[][]) => this.queue(batches), { maxBatch: 64, maxInFlight: 1 });

  constructor(
    private readonly db: Database,
    private readonly deliveries: Queue,
  ) {}

  async publish(input: EventInput, options: ValidateOptions = {}): Promise<EventEnvelope<string>> {
    return (await this.publishBatch([input], options))[0];
  }

  /**
   * `serviceTypes`: the service's own operational events (WEBHOOK_DISABLED); producers may not publish them.
   * `storableChecked`: the caller (the API) has already refused text PostgreSQL cannot store.
   */
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
    const committed = unique.length === 0 ? { inserted: new Set<string>(), attempts: [] } : await this.commits.add(unique);
    if ('conflict' in committed) throw committed.conflict;
    const { inserted, attempts } = committed;
    if (attempts.length > 0) await this.queueing.add(attempts);
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

  /** A process stopping waits for the commits and queueing under way. */
  async onApplicationShutdown(): Promise<void> {
    await this.commits.drain();
    await this.queueing.drain();
  }

  /**
   * Stores the requests' events and deliveries in one statement per round (a round never holds one id
   * twice: a request repeating an id of an earlier request of this commit waits for the next round), and
   * gives each request its stored ids and its deliveries' first attempts.
   */
  private async commit(requests: PublishRequest[]): Promise<Committed[]> {
    const results = new Array<Committed>(requests.length);
    for (const round of commitRounds(requests)) {
      // The data as JSON once: the statement's parameter, and its size for what a job may carry.
      const rows = round.flatMap(({ request }, group) => request.map((event) => ({ ...event, group, dataJson: JSON.stringify(event.data) })));
      const stored = await this.db.repos.events.insertWithDeliveries(rows);
      const byId = new Map(rows.map((e) => [e.id, e]));
      const attempts = new Map<number, ScheduledAttempt[]>();
      const facts = new Map<string, CarriedDelivery | null>();
      for (const delivery of stored.deliveries) {
        const event = byId.get(delivery.eventId)!;
        let carried = facts.get(event.id);
        if (carried === undefined) facts.set(event.id, (carried = carriedFacts(event, delivery.createdAt)));
        const list = attempts.get(event.group) ?? [];
        list.push(carried === null ? delivery : { ...delivery, carried });
        attempts.set(event.group, list);
      }
      round.forEach(({ index }, group) => {
        const foreign = stored.foreign.get(group);
        results[index] = foreign === undefined ? { inserted: stored.inserted, attempts: attempts.get(group) ?? [] } : { conflict: new EventIdConflictError(foreign) };
      });
    }
    return results;
  }

  /** One addBulk for the attempts of several commits; should Redis fail, the sweeper queues them later. */
  private async queue(batches: ScheduledAttempt[][]): Promise<null[]> {
    const attempts = batches.flat();
    try {
      await addDeliverJobs(this.deliveries, attempts);
    } catch (error) {
      this.logger.warn(`Stored ${attempts.length} deliveries but could not queue their first attempts (${(error as Error).message}); the sweeper will`);
    }
    return batches.map(() => null);
  }
}
