import { Check, Column, Entity, Index, PrimaryColumn } from 'typeorm';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event to one webhook; its `id` is the `webhook-id` header of every attempt. */
@Entity('deliveries')
@Index('UQ_deliveries_event_webhook', ['eventId', 'webhookId'], { unique: true })
@Index('IDX_deliveries_webhook_created', ['webhookId', 'createdAt', 'id'])
// Pending deliveries, and only they, have a due time; the sweeper's index is keyed on it, not on
// `status` (why: migration DueIndex).
@Check('CHK_deliveries_due_iff_pending', `("status" = 'pending') = ("next_attempt_at" IS NOT NULL)`)
@Index('IDX_deliveries_due', ['nextAttemptAt'], { where: `"next_attempt_at" IS NOT NULL` })
// A webhook's recent attempts, for its stats (why: migration WebhookAttemptedIndex).
@Index('IDX_deliveries_webhook_attempted', ['webhookId', 'lastAttemptAt'], { where: `"last_attempt_at" IS NOT NULL` })
export class DeliveryEntity {
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_deliveries' })
  id!: string;

  @Column({ name: 'event_id', type: 'varchar', length: 64 })
  eventId!: string;

  @Column({ name: 'webhook_id', type: 'varchar', length: 32 })
  webhookId!: string;

  @Column({ name: 'department_id', type: 'varchar', length: 128 })
  departmentId!: string;

  @Column({ name: 'event_type', type: 'varchar', length: 64 })
  eventType!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  /** Attempts made so far, over every chain. */
  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** `attempts` when the current chain began (0, or the count at a redeliver/recover): the schedule restarts there. */
  @Column({ name: 'chain_start', type: 'integer', default: 0 })
  chainStart!: number;

  /** Attempt chains begun before the current one (every redeliver/recover adds one): part of its jobs' ids. */
  @Column({ type: 'integer', default: 0 })
  chain!: number;

  @Column({ name: 'last_status_code', type: 'integer', nullable: true })
  lastStatusCode!: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  /** When the next attempt is due while pending; null otherwise (a check constraint holds it). */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt!: Date | null;
}
