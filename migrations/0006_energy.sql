CREATE TABLE "energy_attributions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"site_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"line" text NOT NULL,
	"storage_class" text,
	"tenant_id" uuid,
	"resource_type" text,
	"resource_id" uuid,
	"zone_id" uuid,
	"host_id" uuid,
	"dynamic_wh" bigint NOT NULL,
	"idle_wh" bigint NOT NULL,
	"facility_overhead_wh" bigint NOT NULL,
	"total_wh" bigint NOT NULL,
	"cfe_wh" bigint NOT NULL,
	"scope1_mg" bigint NOT NULL,
	"scope2_location_mg" bigint NOT NULL,
	"scope2_market_mg" bigint NOT NULL,
	"embodied_mg" bigint NOT NULL,
	"cfe_fraction" double precision NOT NULL,
	"status" text NOT NULL,
	"methodology_version" text NOT NULL,
	"estimated" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "energy_attributions_status_check" CHECK ("energy_attributions"."status" in ('provisional', 'final'))
);
--> statement-breakpoint
CREATE TABLE "energy_host_readings" (
	"host_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"site_id" uuid NOT NULL,
	"wh" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "energy_host_readings_host_id_hour_pk" PRIMARY KEY("host_id","hour"),
	CONSTRAINT "energy_host_readings_nonnegative" CHECK ("energy_host_readings"."wh" >= 0)
);
--> statement-breakpoint
CREATE TABLE "energy_hours" (
	"site_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"readings_version" integer DEFAULT 1 NOT NULL,
	"computed_version" integer DEFAULT 0 NOT NULL,
	"methodology_version" text,
	"meter_wh" bigint,
	"it_wh" bigint,
	"facility_overhead_wh" bigint,
	"metering_discrepancy_wh" bigint,
	"cfe_wh" bigint,
	"pue" double precision,
	"cfe_fraction" double precision,
	"computed_at" timestamp with time zone,
	"finalized_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "energy_hours_site_id_hour_pk" PRIMARY KEY("site_id","hour"),
	CONSTRAINT "energy_hours_status_check" CHECK ("energy_hours"."status" in ('pending', 'provisional', 'final'))
);
--> statement-breakpoint
CREATE TABLE "energy_site_readings" (
	"site_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"site_wh" bigint NOT NULL,
	"wind_wh" bigint NOT NULL,
	"solar_wh" bigint NOT NULL,
	"battery_wh" bigint NOT NULL,
	"grid_wh" bigint NOT NULL,
	"diesel_wh" bigint NOT NULL,
	"grid_gco2e_per_kwh" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "energy_site_readings_site_id_hour_pk" PRIMARY KEY("site_id","hour"),
	CONSTRAINT "energy_site_readings_nonnegative" CHECK ("energy_site_readings"."site_wh" >= 0 and "energy_site_readings"."wind_wh" >= 0 and "energy_site_readings"."solar_wh" >= 0 and "energy_site_readings"."battery_wh" >= 0 and "energy_site_readings"."grid_wh" >= 0 and "energy_site_readings"."diesel_wh" >= 0 and "energy_site_readings"."grid_gco2e_per_kwh" >= 0)
);
--> statement-breakpoint
CREATE TABLE "energy_site_zones" (
	"site_id" uuid NOT NULL,
	"zone_id" uuid NOT NULL,
	CONSTRAINT "energy_site_zones_site_id_zone_id_pk" PRIMARY KEY("site_id","zone_id")
);
--> statement-breakpoint
CREATE TABLE "energy_sites" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "embodied_kgco2e" integer;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "lifetime_years" integer;--> statement-breakpoint
ALTER TABLE "instance_events" ADD COLUMN "host_id" uuid;--> statement-breakpoint
ALTER TABLE "energy_attributions" ADD CONSTRAINT "energy_attributions_site_id_energy_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."energy_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "energy_host_readings" ADD CONSTRAINT "energy_host_readings_site_id_energy_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."energy_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "energy_hours" ADD CONSTRAINT "energy_hours_site_id_energy_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."energy_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "energy_site_readings" ADD CONSTRAINT "energy_site_readings_site_id_energy_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."energy_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "energy_site_zones" ADD CONSTRAINT "energy_site_zones_site_id_energy_sites_id_fk" FOREIGN KEY ("site_id") REFERENCES "public"."energy_sites"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "energy_site_zones" ADD CONSTRAINT "energy_site_zones_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "energy_attributions_tenant_hour_idx" ON "energy_attributions" USING btree ("tenant_id","hour") WHERE "energy_attributions"."tenant_id" is not null;--> statement-breakpoint
CREATE INDEX "energy_attributions_site_hour_idx" ON "energy_attributions" USING btree ("site_id","hour");--> statement-breakpoint
CREATE INDEX "energy_host_readings_site_hour_idx" ON "energy_host_readings" USING btree ("site_id","hour");--> statement-breakpoint
CREATE INDEX "energy_hours_open_idx" ON "energy_hours" USING btree ("hour") WHERE "energy_hours"."status" <> 'final';--> statement-breakpoint
CREATE UNIQUE INDEX "energy_site_zones_zone_key" ON "energy_site_zones" USING btree ("zone_id");--> statement-breakpoint
CREATE UNIQUE INDEX "energy_sites_name_key" ON "energy_sites" USING btree ("name");--> statement-breakpoint
CREATE INDEX "instance_events_host_at_idx" ON "instance_events" USING btree ("host_id","at");--> statement-breakpoint
ALTER TABLE "hosts" ADD CONSTRAINT "hosts_embodied_check" CHECK (("hosts"."embodied_kgco2e" is null or "hosts"."embodied_kgco2e" >= 0) and ("hosts"."lifetime_years" is null or "hosts"."lifetime_years" > 0));--> statement-breakpoint
-- Instance events also record the host holding the instance's capacity after the change, so the
-- energy ledger knows where an instance ran after its host was released. Events recorded before
-- this migration take the host their instance holds now.
CREATE OR REPLACE FUNCTION igoudar_record_instance_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO instance_events (instance_id, tenant_id, status, host_id) VALUES (NEW.id, NEW.tenant_id, NEW.status, NEW.host_id);
	ELSIF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN
		INSERT INTO instance_events (instance_id, tenant_id, status, host_id) VALUES (NEW.id, NEW.tenant_id, 'deleted', NEW.host_id);
	ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
		INSERT INTO instance_events (instance_id, tenant_id, status, host_id) VALUES (NEW.id, NEW.tenant_id, NEW.status, NEW.host_id);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
UPDATE instance_events e SET host_id = i.host_id FROM instances i WHERE i.id = e.instance_id AND i.host_id IS NOT NULL;
--> statement-breakpoint
-- Final ledger rows never change, whatever code path tries.
CREATE OR REPLACE FUNCTION igoudar_freeze_final_energy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'final energy rows are frozen' USING ERRCODE = 'check_violation', CONSTRAINT = 'energy_attributions_final_frozen';
END
$$;
--> statement-breakpoint
CREATE TRIGGER energy_attributions_freeze_final
	BEFORE UPDATE OR DELETE ON energy_attributions
	FOR EACH ROW WHEN (OLD.status = 'final') EXECUTE FUNCTION igoudar_freeze_final_energy();
