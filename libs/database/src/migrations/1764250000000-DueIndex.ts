import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sweeper's index of pending deliveries becomes an index of due times (`next_attempt_at IS NOT
 * NULL`), with a check constraint that only pending deliveries have one. The old predicate,
 * `status = 'pending'`, drew the worker's per-id updates and lookups (which name that status) onto the
 * partial index whenever the statistics had seen few pending rows, so each attempt's log write scanned
 * every pending delivery: O(backlog) per write, just when a backlog needs the worker fastest.
 *
 * Online on a large log: no transaction (CONCURRENTLY), the constraint added NOT VALID and validated
 * without blocking writes, and every step safe to run again should one fail half-way.
 */
export class DueIndex1764250000000 implements MigrationInterface {
  name = 'DueIndex1764250000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "deliveries" SET "next_attempt_at" = NULL WHERE "status" <> 'pending' AND "next_attempt_at" IS NOT NULL`);
    await queryRunner.query(`UPDATE "deliveries" SET "next_attempt_at" = now() WHERE "status" = 'pending' AND "next_attempt_at" IS NULL`);
    await queryRunner.query(`ALTER TABLE "deliveries" DROP CONSTRAINT IF EXISTS "CHK_deliveries_due_iff_pending"`);
    await queryRunner.query(
      `ALTER TABLE "deliveries" ADD CONSTRAINT "CHK_deliveries_due_iff_pending" CHECK (("status" = 'pending') = ("next_attempt_at" IS NOT NULL)) NOT VALID`,
    );
    await queryRunner.query(`ALTER TABLE "deliveries" VALIDATE CONSTRAINT "CHK_deliveries_due_iff_pending"`);
    await queryRunner.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "IDX_deliveries_due" ON "deliveries" ("next_attempt_at") WHERE "next_attempt_at" IS NOT NULL`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "public"."IDX_deliveries_pending_due"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // TypeORM reverts inside a transaction even for a migration without one; CONCURRENTLY only outside.
    const concurrently = queryRunner.isTransactionActive ? '' : 'CONCURRENTLY ';
    await queryRunner.query(`CREATE INDEX ${concurrently}IF NOT EXISTS "IDX_deliveries_pending_due" ON "deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await queryRunner.query(`DROP INDEX ${concurrently}IF EXISTS "public"."IDX_deliveries_due"`);
    await queryRunner.query(`ALTER TABLE "deliveries" DROP CONSTRAINT IF EXISTS "CHK_deliveries_due_iff_pending"`);
  }
}
