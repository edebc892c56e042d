CREATE SEQUENCE "public"."operation_fence_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "sim_fences" (
	"instance_id" uuid PRIMARY KEY NOT NULL,
	"fence" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sim_ledger" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "sim_ledger" ADD COLUMN "fence" bigint;--> statement-breakpoint
ALTER TABLE "operations" ADD COLUMN "fence" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "sim_ledger_idempotency_key" ON "sim_ledger" USING btree ("idempotency_key");