import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/**
 * A department's webhook. Custom header values and signing secrets are sealed (AES-256-GCM) by the
 * repository; the sealed columns are not selected unless asked for.
 */
@Entity('webhooks')
@Index('IDX_webhooks_department_created', ['departmentId', 'createdAt'])
export class WebhookEntity {
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_webhooks' })
  id!: string;

  @Column({ name: 'department_id', type: 'varchar', length: 128 })
  departmentId!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 2048 })
  url!: string;

  @Column({ type: 'text', array: true })
  events!: string[];

  /** JSON object of custom headers, sealed. */
  @Column({ name: 'headers_sealed', type: 'text' })
  headersSealed!: string;

  @Column({ name: 'secret_sealed', type: 'text', select: false })
  secretSealed!: string;

  /** The secret before the last rotation; it keeps signing until previousSecretExpiresAt. */
  @Column({ name: 'previous_secret_sealed', type: 'text', nullable: true, select: false })
  previousSecretSealed!: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive!: boolean;

  @Column({ name: 'disabled_reason', type: 'varchar', length: 200, nullable: true })
  disabledReason!: string | null;

  /** Start of the current streak of failed deliveries (no success since); null when healthy. */
  @Column({ name: 'failing_since', type: 'timestamptz', nullable: true })
  failingSince!: Date | null;

  /** Failed deliveries in the current streak. */
  @Column({ name: 'failure_streak', type: 'integer', default: 0 })
  failureStreak!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
