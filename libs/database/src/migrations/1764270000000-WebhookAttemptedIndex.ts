import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A webhook's deliveries by the time of their last attempt, for its stats (attempts made in the last
 * hours). Attempts carry no webhook id and their table keeps only its primary key (the fastest-growing
 * table, see DropUnusedAttemptIndex), and an attempt made now may belong to a delivery created days ago
 * (a retry, a redeliver): without this index the stats would read the webhook's whole retained log.
 * Every attempt already rewrites its delivery's index entries (next_attempt_at changes), so this adds
 * one entry to that write. Partial: deliveries never attempted are not in it.
 *
 * Online on a large log: no transaction (CONCURRENTLY), safe to run again should it fail half-way.
 */
export class WebhookAttemptedIndex1764270000000 implements MigrationInterface {
  name = 'WebhookAttemptedIndex1764270000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS "IDX_deliveries_webhook_attempted" ON "deliveries" ("webhook_id", "last_attempt_at") WHERE "last_attempt_at" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // TypeORM reverts inside a transaction even for a migration without one; CONCURRENTLY only outside.
    const concurrently = queryRunner.isTransactionActive ? '' : 'CONCURRENTLY ';
    await queryRunner.query(`DROP INDEX ${concurrently}IF EXISTS "public"."IDX_deliveries_webhook_attempted"`);
  }
}
