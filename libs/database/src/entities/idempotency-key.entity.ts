import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** The first response to a create with an Idempotency-Key, replayed for 24 h (sealed: it holds a secret). */
@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'department_id', type: 'varchar', length: 128, primaryKeyConstraintName: 'PK_idempotency_keys' })
  departmentId!: string;

  @PrimaryColumn({ type: 'varchar', length: 255, primaryKeyConstraintName: 'PK_idempotency_keys' })
  key!: string;

  /** SHA-256 of route + body: the same key with another request is refused. */
  @Column({ name: 'request_hash', type: 'char', length: 64 })
  requestHash!: string;

  @Column({ name: 'response_status', type: 'int' })
  responseStatus!: number;

  @Column({ name: 'response_sealed', type: 'text' })
  responseSealed!: string;

  @Index('IDX_idempotency_keys_created')
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
