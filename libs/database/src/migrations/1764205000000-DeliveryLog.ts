import { MigrationInterface, QueryRunner } from 'typeorm';

/** Events, deliveries and their attempts (the delivery log), and each webhook's failure streak. */
export class DeliveryLog1764205000000 implements MigrationInterface {
  name = 'DeliveryLog1764205000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "events" (
      "id" character varying(64) NOT NULL,
      "department_id" character varying(128) NOT NULL,
      "type" character varying(64) NOT NULL,
      "data" jsonb NOT NULL,
      "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "fanned_out_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_events" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "IDX_events_created" ON "events" ("created_at")`);
    await queryRunner.query(`CREATE INDEX "IDX_events_pending_fan_out" ON "events" ("created_at") WHERE "fanned_out_at" IS NULL`);

    await queryRunner.query(`CREATE TABLE "deliveries" (
      "id" character varying(32) NOT NULL,
      "event_id" character varying(64) NOT NULL,
      "webhook_id" character varying(32) NOT NULL,
      "department_id" character varying(128) NOT NULL,
      "event_type" character varying(64) NOT NULL,
      "status" character varying(16) NOT NULL,
      "attempts" integer NOT NULL DEFAULT '0',
      "chain_start" integer NOT NULL DEFAULT '0',
      "last_status_code" integer,
      "last_error" character varying(500),
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "last_attempt_at" TIMESTAMP WITH TIME ZONE,
      "next_attempt_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_deliveries" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_deliveries_event_webhook" ON "deliveries" ("event_id", "webhook_id")`);
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_webhook_created" ON "deliveries" ("webhook_id", "created_at", "id")`);
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_pending_due" ON "deliveries" ("next_attempt_at") WHERE "status" = 'pending'`);
    await queryRunner.query(`CREATE INDEX "IDX_deliveries_created" ON "deliveries" ("created_at")`);

    await queryRunner.query(`CREATE TABLE "delivery_attempts" (
      "id" BIGSERIAL NOT NULL,
      "delivery_id" character varying(32) NOT NULL,
      "attempt" integer NOT NULL,
      "requested_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "duration_ms" integer NOT NULL,
      "status_code" integer,
      "response_body" text NOT NULL DEFAULT '',
      "response_body_truncated" boolean NOT NULL DEFAULT false,
      "error" character varying(32),
      "error_message" character varying(500),
      CONSTRAINT "PK_delivery_attempts" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_delivery_attempts_delivery_attempt" ON "delivery_attempts" ("delivery_id", "attempt")`);
    await queryRunner.query(`CREATE INDEX "IDX_delivery_attempts_requested" ON "delivery_attempts" ("requested_at")`);

    await queryRunner.query(`ALTER TABLE "webhooks" ADD "failing_since" TIMESTAMP WITH TIME ZONE`);
    await queryRunner.query(`ALTER TABLE "webhooks" ADD "failure_streak" integer NOT NULL DEFAULT '0'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "webhooks" DROP COLUMN "failure_streak"`);
    await queryRunner.query(`ALTER TABLE "webhooks" DROP COLUMN "failing_since"`);
    await queryRunner.query(`DROP TABLE "delivery_attempts"`);
    await queryRunner.query(`DROP TABLE "deliveries"`);
    await queryRunner.query(`DROP TABLE "events"`);
  }
}
