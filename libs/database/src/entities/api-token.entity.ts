import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export const TOKEN_SCOPES = ['webhooks:read', 'webhooks:write', 'events:publish', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** An API token. Only the SHA-256 of the secret is stored; the secret is shown once, at creation. */
@Entity('api_tokens')
export class ApiTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'PK_api_tokens' })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Index('UQ_api_tokens_token_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'char', length: 64, select: false })
  tokenHash!: string;

  /** Department ids the token may act on; ['*'] for a platform token. */
  @Column({ type: 'text', array: true })
  departments!: string[];

  @Column({ type: 'text', array: true })
  scopes!: TokenScope[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
