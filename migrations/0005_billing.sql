CREATE TABLE "invoice_lines" (
	"id" uuid PRIMARY KEY NOT NULL,
	"invoice_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"kind" text NOT NULL,
	"meter" text NOT NULL,
	"usage_period_start" timestamp with time zone NOT NULL,
	"price_version_id" uuid NOT NULL,
	"quantity_nanos" bigint NOT NULL,
	"unit" text NOT NULL,
	"unit_price_micros" bigint NOT NULL,
	"amount_micros" bigint NOT NULL,
	CONSTRAINT "invoice_lines_kind_check" CHECK ("invoice_lines"."kind" in ('usage', 'adjustment'))
);
--> statement-breakpoint
CREATE TABLE "invoice_number_counters" (
	"year" integer PRIMARY KEY NOT NULL,
	"last_number" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoice_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"scheduled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "invoice_runs_period_check" CHECK ("invoice_runs"."period_end" > "invoice_runs"."period_start")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"price_plan_id" uuid NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"number" text,
	"subtotal_micros" bigint NOT NULL,
	"tax_rate_ppm" integer NOT NULL,
	"tax_micros" bigint NOT NULL,
	"total_micros" bigint NOT NULL,
	"run_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finalized_at" timestamp with time zone,
	CONSTRAINT "invoices_status_check" CHECK ("invoices"."status" in ('draft', 'finalized')),
	CONSTRAINT "invoices_number_check" CHECK (("invoices"."status" = 'finalized') = ("invoices"."number" is not null)),
	CONSTRAINT "invoices_total_check" CHECK ("invoices"."total_micros" = "invoices"."subtotal_micros" + "invoices"."tax_micros")
);
--> statement-breakpoint
CREATE TABLE "price_plan_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"price_plan_id" uuid NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"vcpu_hour_micros" bigint NOT NULL,
	"memory_gib_hour_micros" bigint NOT NULL,
	"volume_gib_month_micros" bigint NOT NULL,
	"snapshot_gib_month_micros" bigint NOT NULL,
	"tax_rate_ppm" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "price_plan_versions_rates_check" CHECK ("price_plan_versions"."vcpu_hour_micros" >= 0 and "price_plan_versions"."memory_gib_hour_micros" >= 0 and "price_plan_versions"."volume_gib_month_micros" >= 0 and "price_plan_versions"."snapshot_gib_month_micros" >= 0),
	CONSTRAINT "price_plan_versions_tax_check" CHECK ("price_plan_versions"."tax_rate_ppm" between 0 and 1000000)
);
--> statement-breakpoint
CREATE TABLE "price_plans" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "price_plans_currency_check" CHECK ("price_plans"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_invoice_id_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."invoices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoice_lines" ADD CONSTRAINT "invoice_lines_price_version_id_price_plan_versions_id_fk" FOREIGN KEY ("price_version_id") REFERENCES "public"."price_plan_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_price_plan_id_price_plans_id_fk" FOREIGN KEY ("price_plan_id") REFERENCES "public"."price_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_plan_versions" ADD CONSTRAINT "price_plan_versions_price_plan_id_price_plans_id_fk" FOREIGN KEY ("price_plan_id") REFERENCES "public"."price_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_lines_position_key" ON "invoice_lines" USING btree ("invoice_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_runs_scheduled_key" ON "invoice_runs" USING btree ("period_start") WHERE "invoice_runs"."scheduled";--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_tenant_period_key" ON "invoices" USING btree ("tenant_id","period_start");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number_key" ON "invoices" USING btree ("number");--> statement-breakpoint
CREATE INDEX "invoices_tenant_idx" ON "invoices" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "invoices_draft_idx" ON "invoices" USING btree ("created_at") WHERE "invoices"."status" = 'draft';--> statement-breakpoint
CREATE UNIQUE INDEX "price_plan_versions_plan_effective_key" ON "price_plan_versions" USING btree ("price_plan_id","effective_at");--> statement-breakpoint
CREATE UNIQUE INDEX "price_plans_name_key" ON "price_plans" USING btree ("name");--> statement-breakpoint
-- Until now price_plan_id accepted any uuid and no plan existed: no value can name a plan.
UPDATE "tenants" SET "price_plan_id" = NULL WHERE "price_plan_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_price_plan_id_price_plans_id_fk" FOREIGN KEY ("price_plan_id") REFERENCES "public"."price_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- A finalized invoice never changes, whatever code path tries: its row and its lines are frozen.
CREATE OR REPLACE FUNCTION igoudar_freeze_finalized_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.status = 'finalized' THEN
		RAISE EXCEPTION 'invoice % is finalized and cannot change', OLD.id USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_finalized_frozen';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
--> statement-breakpoint
CREATE TRIGGER invoices_freeze_finalized
	BEFORE UPDATE OR DELETE ON invoices
	FOR EACH ROW EXECUTE FUNCTION igoudar_freeze_finalized_invoice();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION igoudar_freeze_finalized_invoice_lines() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	parent uuid := CASE TG_OP WHEN 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
BEGIN
	IF EXISTS (SELECT 1 FROM invoices WHERE id = parent AND status = 'finalized') THEN
		RAISE EXCEPTION 'invoice % is finalized and cannot change', parent USING ERRCODE = 'check_violation', CONSTRAINT = 'invoices_finalized_frozen';
	END IF;
	RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
--> statement-breakpoint
CREATE TRIGGER invoice_lines_freeze_finalized
	BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
	FOR EACH ROW EXECUTE FUNCTION igoudar_freeze_finalized_invoice_lines();
