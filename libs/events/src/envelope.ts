import type { EventType } from './catalog';

/** The delivered body of every webhook request (SPEC §6). */
export interface EventEnvelope<T extends string = EventType> {
  id: string;
  type: T;
  /** ISO-8601 time the event happened (given by the producer) or was published. */
  timestamp: string;
  departmentId: string;
  data: Record<string, unknown>;
}

/** What a producer hands to the publisher; the id, when given, makes a retried publish idempotent. */
export interface EventInput {
  type: string;
  departmentId: string;
  data: Record<string, unknown>;
  id?: string;
  timestamp?: string;
}
