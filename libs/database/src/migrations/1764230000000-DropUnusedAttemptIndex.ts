import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * delivery_attempts is the fastest-growing table and is only read and purged through its delivery
 * (the unique (delivery_id, attempt) index): the requested_at index cost every insert and served no query.
 */
export class DropUnusedAttemptIndex1764230000000 implements MigrationInterface {
  name = 'DropUnusedAttemptIndex1764230000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_delivery_attempts_requested"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX "IDX_delivery_attempts_requested" ON "delivery_attempts" ("requested_at")`);
  }
}
