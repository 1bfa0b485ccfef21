import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sweeper's index of pending deliveries becomes an index of due times (`next_attempt_at IS NOT
 * NULL`), with a check constraint that only pending deliveries have one. The old predicate,
 * `status = 'pending'`, drew the worker's per-id updates and lookups (which name that status) onto the
 * partial index whenever the statistics had seen few pending rows, so each attempt's log write scanned
 * every pending delivery: O(backlog) per write, just when a backlog needs the worker fastest.
 */
export class DueIndex1764250000000 implements MigrationInterface {
  name = 'DueIndex1764250000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE "deliveries" SET "next_attempt_at" = NULL WHERE "status" <> 'pending' AND "next_attempt_at" IS NOT NULL`);
    await queryRunner.query(`UPDATE "deliveries" SET "next_attempt_at" = now() WHERE "status" = 'pending' AND "next_attempt_at" IS NULL`);
    await queryRunner.query(
      `ALTER TABLE "deliveries" ADD CONSTRAINT "CHK_deliveries_due_iff_pending" CHECK (("status" = 'pending') = ("next_attempt_at" IS NOT NULL))`,
    );
    await queryRunner.query(`DROP INDEX "public"."IDX_deliveries_pending_due"`);
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_due" ON "deliveries" ("next_attempt_at") WHERE "next_attempt_at" IS NOT NULL`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_deliveries_due"`);
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_pending_due" ON "deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await queryRunner.query(`ALTER TABLE "deliveries" DROP CONSTRAINT "CHK_deliveries_due_iff_pending"`);
  }
}
