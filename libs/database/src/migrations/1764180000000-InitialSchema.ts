import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764180000000 implements MigrationInterface {
  name = 'InitialSchema1764180000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "api_tokens" (
      "id" character varying(32) NOT NULL,
      "name" character varying(200) NOT NULL,
      "token_hash" character(64) NOT NULL,
      "departments" text array NOT NULL,
      "scopes" text array NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "revoked_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_api_tokens" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "UQ_api_tokens_token_hash" ON "api_tokens" ("token_hash")`);

    await queryRunner.query(`CREATE TABLE "webhooks" (
      "id" character varying(32) NOT NULL,
      "department_id" character varying(128) NOT NULL,
      "name" character varying(100) NOT NULL,
      "url" character varying(2048) NOT NULL,
      "events" text array NOT NULL,
      "headers_sealed" text NOT NULL,
      "secret_sealed" text NOT NULL,
      "previous_secret_sealed" text,
      "previous_secret_expires_at" TIMESTAMP WITH TIME ZONE,
      "is_active" boolean NOT NULL DEFAULT true,
      "disabled_reason" character varying(200),
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_webhooks" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "IDX_webhooks_department_created" ON "webhooks" ("department_id", "created_at")`);

    await queryRunner.query(`CREATE TABLE "idempotency_keys" (
      "department_id" character varying(128) NOT NULL,
      "key" character varying(255) NOT NULL,
      "request_hash" character(64) NOT NULL,
      "response_status" integer NOT NULL,
      "response_sealed" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_idempotency_keys" PRIMARY KEY ("department_id", "key"))`);
    await queryRunner.query(`CREATE INDEX "IDX_idempotency_keys_created" ON "idempotency_keys" ("created_at")`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`DROP TABLE "webhooks"`);
    await queryRunner.query(`DROP TABLE "api_tokens"`);
  }
}
