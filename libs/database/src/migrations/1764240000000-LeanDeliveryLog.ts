import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fewer index entries per delivery: attempts are keyed by (delivery_id, attempt) instead of a serial id
 * plus a unique index on the same pair, and deliveries lose their created_at index (the retention
 * purge now goes through events, deleting each old event with its deliveries and their attempts).
 */
export class LeanDeliveryLog1764240000000 implements MigrationInterface {
  name = 'LeanDeliveryLog1764240000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "delivery_attempts" DROP CONSTRAINT "PK_delivery_attempts"`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" DROP COLUMN "id"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_delivery_attempts_delivery_attempt"`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" ADD CONSTRAINT "PK_delivery_attempts" PRIMARY KEY ("delivery_id", "attempt")`);
    await queryRunner.query(`DROP INDEX "public"."IDX_deliveries_created"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_created" ON "deliveries" ("created_at")`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" DROP CONSTRAINT "PK_delivery_attempts"`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_delivery_attempts_delivery_attempt" ON "delivery_attempts" ("delivery_id", "attempt")`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" ADD "id" BIGSERIAL NOT NULL`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" ADD CONSTRAINT "PK_delivery_attempts" PRIMARY KEY ("id")`);
  }
}
