/**
 * The event catalog (SPEC §6): the one place where event types and the JSON schemas of their `data`
 * live. Extra properties are allowed; required ones are enforced when an event is published.
 */
export interface JsonSchema {
  [key: string]: unknown;
}

export interface EventTypeDefinition {
  type: string;
  description: string;
  /** Customers may subscribe webhooks to it (WEBHOOK_TEST is only ever sent by test-send). */
  subscribable: boolean;
  /** Who may publish it: the platform's producers, or only the service itself (operational events, test-send). */
  publishedBy: 'producers' | 'service';
  schema: JsonSchema;
}

const dateTime = { type: 'string', format: 'date-time' };
const id = { type: 'string', minLength: 1, maxLength: 256 };
const surveyStatus = { type: 'string', enum: ['draft', 'active', 'paused', 'closed', 'archived'] };

export const EVENT_CATALOG = [
  {
    type: 'SURVEY_COMPLETED',
    description: 'A respondent completed a survey.',
    subscribable: true,
    publishedBy: 'producers',
    schema: {
      type: 'object',
      required: ['surveyId', 'responseId', 'completedAt'],
      properties: {
        surveyId: id,
        responseId: id,
        completedAt: dateTime,
        respondent: { type: 'object' },
        answers: {
          type: 'array',
          items: { type: 'object', required: ['questionId', 'value'], properties: { questionId: id, value: {} } },
        },
        score: { type: 'number' },
      },
    },
  },
  {
    type: 'SURVEY_STATUS_CHANGED',
    description: "A survey's status changed (draft, active, paused, closed, archived).",
    subscribable: true,
    publishedBy: 'producers',
    schema: {
      type: 'object',
      required: ['surveyId', 'previousStatus', 'status', 'changedAt'],
      properties: { surveyId: id, previousStatus: surveyStatus, status: surveyStatus, changedAt: dateTime },
    },
  },
  {
    type: 'COUPON_REDEEMED',
    description: 'A coupon was redeemed.',
    subscribable: true,
    publishedBy: 'producers',
    schema: {
      type: 'object',
      required: ['couponId', 'code', 'redeemedAt'],
      properties: {
        couponId: id,
        code: { type: 'string', minLength: 1 },
        redeemedAt: dateTime,
        surveyId: id,
        responseId: id,
        value: {
          type: 'object',
          required: ['amount', 'currency'],
          properties: { amount: { type: 'number' }, currency: { type: 'string', pattern: '^[A-Z]{3}$' } },
        },
      },
    },
  },
  {
    type: 'WEBHOOK_DISABLED',
    description: "Operational: the service disabled one of the department's webhooks (published by the service itself).",
    subscribable: true,
    publishedBy: 'service',
    schema: {
      type: 'object',
      required: ['webhookId', 'reason', 'disabledAt'],
      properties: { webhookId: id, reason: { type: 'string' }, disabledAt: dateTime },
    },
  },
  {
    type: 'WEBHOOK_TEST',
    description: 'Sent by test-send only; not subscribable.',
    subscribable: false,
    publishedBy: 'service',
    schema: { type: 'object', properties: { message: { type: 'string' } } },
  },
] as const satisfies readonly EventTypeDefinition[];

export type EventType = (typeof EVENT_CATALOG)[number]['type'];

export const EVENT_TYPES: readonly EventType[] = EVENT_CATALOG.map((entry) => entry.type);

export const SUBSCRIBABLE_EVENT_TYPES: readonly EventType[] = EVENT_CATALOG.filter((entry) => entry.subscribable).map((entry) => entry.type);

export function isSubscribableEventType(value: string): value is EventType {
  return (SUBSCRIBABLE_EVENT_TYPES as readonly string[]).includes(value);
}

export function isProducerEventType(value: string): boolean {
  return EVENT_CATALOG.some((entry) => entry.type === value && entry.publishedBy === 'producers');
}
