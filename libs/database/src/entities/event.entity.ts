import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** A published event: stored before the publish is acknowledged (PostgreSQL is the system of record). */
@Entity('events')
@Index('IDX_events_created', ['createdAt'])
@Index('IDX_events_pending_fan_out', ['createdAt'], { where: '"fanned_out_at" IS NULL' })
export class EventEntity {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'PK_events' })
  id!: string;

  @Column({ name: 'department_id', type: 'varchar', length: 128 })
  departmentId!: string;

  @Column({ type: 'varchar', length: 64 })
  type!: string;

  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;

  /** The envelope's timestamp. */
  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /** Set once its deliveries exist; the sweeper re-queues fan-outs still null after a while. */
  @Column({ name: 'fanned_out_at', type: 'timestamptz', nullable: true })
  fannedOutAt!: Date | null;
}
