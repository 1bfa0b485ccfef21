import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One HTTP attempt of a delivery, as the receiver answered it (or why it could not). Keyed by
 * (delivery, attempt number): the only index of the fastest-growing table, and the idempotency key of
 * the attempt log's batched insert.
 */
@Entity('delivery_attempts')
export class DeliveryAttemptEntity {
  @PrimaryColumn({ name: 'delivery_id', type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_delivery_attempts' })
  deliveryId!: string;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'PK_delivery_attempts' })
  attempt!: number;

  @Column({ name: 'requested_at', type: 'timestamptz' })
  requestedAt!: Date;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode!: number | null;

  /** The first 20 KiB of the receiver's answer. */
  @Column({ name: 'response_body', type: 'text', default: '' })
  responseBody!: string;

  @Column({ name: 'response_body_truncated', type: 'boolean', default: false })
  responseBodyTruncated!: boolean;

  /** The response's Content-Type as the receiver sent it (null without one, or without a response). */
  @Column({ name: 'response_content_type', type: 'varchar', length: 255, nullable: true })
  responseContentType!: string | null;

  /** timeout | dns | connection_refused | connection_reset | tls | blocked_destination | http | … */
  @Column({ type: 'varchar', length: 32, nullable: true })
  error!: string | null;

  @Column({ name: 'error_message', type: 'varchar', length: 500, nullable: true })
  errorMessage!: string | null;
}
