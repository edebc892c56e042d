CREATE TABLE "sim_storage_ledger" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"resource_id" uuid NOT NULL,
	"effect" text NOT NULL,
	"idempotency_key" text,
	"fence" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_volumes" (
	"resource_id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"pool_id" uuid NOT NULL,
	"size_gib" integer NOT NULL,
	"attached_to" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshots" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"volume_id" uuid NOT NULL,
	"size_gib" integer NOT NULL,
	"zone_id" uuid,
	"storage_class" text NOT NULL,
	"pool_id" uuid,
	"status" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "snapshots_size_check" CHECK ("snapshots"."size_gib" > 0),
	CONSTRAINT "snapshots_status_check" CHECK ("snapshots"."status" in ('creating', 'available', 'deleting', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "storage_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"resource_type" text NOT NULL,
	"resource_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"status" text NOT NULL,
	"size_gib" integer NOT NULL,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_pools" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"zone_id" uuid NOT NULL,
	"storage_class" text NOT NULL,
	"driver" text NOT NULL,
	"capacity_gib" integer NOT NULL,
	"overcommit_ratio" double precision DEFAULT 1 NOT NULL,
	"allocated_gib" integer DEFAULT 0 NOT NULL,
	"status" text DEFAULT 'enabled' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "storage_pools_capacity_check" CHECK ("storage_pools"."capacity_gib" > 0),
	CONSTRAINT "storage_pools_overcommit_check" CHECK ("storage_pools"."overcommit_ratio" >= 1 and "storage_pools"."overcommit_ratio" <= 16),
	CONSTRAINT "storage_pools_allocated_check" CHECK ("storage_pools"."allocated_gib" >= 0),
	CONSTRAINT "storage_pools_status_check" CHECK ("storage_pools"."status" in ('enabled', 'disabled')),
	CONSTRAINT "storage_pools_driver_check" CHECK ("storage_pools"."driver" in ('simulated', 'local'))
);
--> statement-breakpoint
CREATE TABLE "volumes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"size_gib" integer NOT NULL,
	"zone_id" uuid,
	"storage_class" text NOT NULL,
	"pool_id" uuid,
	"status" text NOT NULL,
	"instance_id" uuid,
	"source_snapshot_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "volumes_size_check" CHECK ("volumes"."size_gib" > 0),
	CONSTRAINT "volumes_status_check" CHECK ("volumes"."status" in ('creating', 'available', 'attaching', 'in_use', 'detaching', 'resizing', 'deleting', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_volume_id_volumes_id_fk" FOREIGN KEY ("volume_id") REFERENCES "public"."volumes"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshots" ADD CONSTRAINT "snapshots_pool_id_storage_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."storage_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_pools" ADD CONSTRAINT "storage_pools_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_pool_id_storage_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."storage_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_instance_id_instances_id_fk" FOREIGN KEY ("instance_id") REFERENCES "public"."instances"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "sim_storage_ledger_resource_idx" ON "sim_storage_ledger" USING btree ("resource_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sim_storage_ledger_idempotency_key" ON "sim_storage_ledger" USING btree ("idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "snapshots_tenant_name_key" ON "snapshots" USING btree ("tenant_id","name") WHERE "snapshots"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "snapshots_tenant_idx" ON "snapshots" USING btree ("tenant_id","id") WHERE "snapshots"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "snapshots_volume_idx" ON "snapshots" USING btree ("volume_id");--> statement-breakpoint
CREATE INDEX "snapshots_pool_idx" ON "snapshots" USING btree ("pool_id");--> statement-breakpoint
CREATE INDEX "storage_events_tenant_at_idx" ON "storage_events" USING btree ("tenant_id","at");--> statement-breakpoint
CREATE INDEX "storage_events_resource_idx" ON "storage_events" USING btree ("resource_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "storage_pools_name_key" ON "storage_pools" USING btree ("name");--> statement-breakpoint
CREATE INDEX "storage_pools_zone_class_idx" ON "storage_pools" USING btree ("zone_id","storage_class");--> statement-breakpoint
CREATE UNIQUE INDEX "volumes_tenant_name_key" ON "volumes" USING btree ("tenant_id","name") WHERE "volumes"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "volumes_tenant_idx" ON "volumes" USING btree ("tenant_id","id") WHERE "volumes"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "volumes_pool_idx" ON "volumes" USING btree ("pool_id");--> statement-breakpoint
CREATE INDEX "volumes_instance_idx" ON "volumes" USING btree ("instance_id") WHERE "volumes"."deleted_at" is null;--> statement-breakpoint
ALTER TABLE "instances" DROP COLUMN "volume_ids";--> statement-breakpoint
-- Every status and size a volume or snapshot passes through leaves an event in the same
-- transaction, whatever code path made it: usage and billing compute allocated GiB over time.
CREATE OR REPLACE FUNCTION igoudar_record_storage_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	kind text := CASE TG_TABLE_NAME WHEN 'volumes' THEN 'volume' ELSE 'snapshot' END;
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO storage_events (resource_type, resource_id, tenant_id, status, size_gib)
		VALUES (kind, NEW.id, NEW.tenant_id, NEW.status, NEW.size_gib);
	ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
		INSERT INTO storage_events (resource_type, resource_id, tenant_id, status, size_gib)
		VALUES (kind, NEW.id, NEW.tenant_id, 'deleted', NEW.size_gib);
	ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.size_gib IS DISTINCT FROM OLD.size_gib THEN
		INSERT INTO storage_events (resource_type, resource_id, tenant_id, status, size_gib)
		VALUES (kind, NEW.id, NEW.tenant_id, NEW.status, NEW.size_gib);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER volumes_record_event
	AFTER INSERT OR UPDATE OF status, size_gib, deleted_at ON volumes
	FOR EACH ROW EXECUTE FUNCTION igoudar_record_storage_event();
--> statement-breakpoint
CREATE TRIGGER snapshots_record_event
	AFTER INSERT OR UPDATE OF status, size_gib, deleted_at ON snapshots
	FOR EACH ROW EXECUTE FUNCTION igoudar_record_storage_event();
