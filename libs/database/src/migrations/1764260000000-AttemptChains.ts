import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `deliveries.chain` counts a delivery's attempt chains (0, then one more at every redeliver or
 * recover), so that a restarted chain's jobs get ids of their own instead of colliding with a
 * cancelled chain's delayed job. `delivery_attempts.response_content_type` keeps what the receiver
 * said its body was. Both columns are added without a table rewrite (constant default, nullable).
 */
export class AttemptChains1764260000000 implements MigrationInterface {
  name = 'AttemptChains1764260000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "deliveries" ADD "chain" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`ALTER TABLE "delivery_attempts" ADD "response_content_type" character varying(255)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "delivery_attempts" DROP COLUMN "response_content_type"`);
    await queryRunner.query(`ALTER TABLE "deliveries" DROP COLUMN "chain"`);
  }
}
