CREATE TABLE "flavors" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"vcpus" integer NOT NULL,
	"memory_mib" integer NOT NULL,
	"disk_gib" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "flavors_size_positive" CHECK ("flavors"."vcpus" > 0 and "flavors"."memory_mib" > 0 and "flavors"."disk_gib" >= 0)
);
--> statement-breakpoint
CREATE TABLE "hosts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"zone_id" uuid NOT NULL,
	"status" text DEFAULT 'enabled' NOT NULL,
	"vcpus" integer NOT NULL,
	"memory_mib" integer NOT NULL,
	"disk_gib" integer NOT NULL,
	"cpu_allocation_ratio" double precision DEFAULT 4 NOT NULL,
	"memory_allocation_ratio" double precision DEFAULT 1 NOT NULL,
	"power_idle_w" integer,
	"power_max_w" integer,
	"vcpus_used" integer DEFAULT 0 NOT NULL,
	"memory_mib_used" integer DEFAULT 0 NOT NULL,
	"disk_gib_used" integer DEFAULT 0 NOT NULL,
	"instance_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hosts_status_check" CHECK ("hosts"."status" in ('enabled', 'disabled')),
	CONSTRAINT "hosts_capacity_positive" CHECK ("hosts"."vcpus" > 0 and "hosts"."memory_mib" > 0 and "hosts"."disk_gib" >= 0),
	CONSTRAINT "hosts_ratios_positive" CHECK ("hosts"."cpu_allocation_ratio" > 0 and "hosts"."memory_allocation_ratio" > 0),
	CONSTRAINT "hosts_usage_nonnegative" CHECK ("hosts"."vcpus_used" >= 0 and "hosts"."memory_mib_used" >= 0 and "hosts"."disk_gib_used" >= 0 and "hosts"."instance_count" >= 0),
	CONSTRAINT "hosts_power_check" CHECK (("hosts"."power_idle_w" is null or "hosts"."power_idle_w" >= 0) and ("hosts"."power_max_w" is null or "hosts"."power_max_w" >= coalesce("hosts"."power_idle_w", 0)))
);
--> statement-breakpoint
CREATE TABLE "instance_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"instance_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"status" text NOT NULL,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"flavor_id" uuid,
	"zone_id" uuid,
	"host_id" uuid,
	"placement_group_id" uuid,
	"status" text NOT NULL,
	"vcpus" integer NOT NULL,
	"memory_mib" integer NOT NULL,
	"disk_gib" integer NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"volume_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "instances_status_check" CHECK ("instances"."status" in ('provisioning', 'running', 'stopping', 'stopped', 'starting', 'rebooting', 'deleting', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "placement_groups" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"policy" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "placement_groups_policy_check" CHECK ("placement_groups"."policy" in ('affinity', 'anti-affinity'))
);
--> statement-breakpoint
CREATE TABLE "platform_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_faults" (
	"id" uuid PRIMARY KEY NOT NULL,
	"action" text NOT NULL,
	"instance_id" uuid,
	"kind" text NOT NULL,
	"remaining" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_ledger" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"instance_id" uuid NOT NULL,
	"effect" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_machines" (
	"instance_id" uuid PRIMARY KEY NOT NULL,
	"host_id" uuid NOT NULL,
	"power_state" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "zones" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"jurisdiction" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid,
	"actor_id" text NOT NULL,
	"actor_role" text NOT NULL,
	"action" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" text,
	"request_id" text,
	"detail" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota_defaults" (
	"resource" text PRIMARY KEY NOT NULL,
	"limit" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quotas" (
	"tenant_id" uuid NOT NULL,
	"resource" text NOT NULL,
	"limit" bigint NOT NULL,
	"used" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quotas_pkey" PRIMARY KEY("tenant_id","resource"),
	CONSTRAINT "quotas_used_nonnegative" CHECK ("quotas"."used" >= 0),
	CONSTRAINT "quotas_limit_nonnegative" CHECK ("quotas"."limit" >= 0)
);
--> statement-breakpoint
CREATE TABLE "service_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"client_id" text NOT NULL,
	"secret_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "service_accounts_role_check" CHECK ("service_accounts"."role" in ('operator', 'admin', 'member', 'viewer')),
	CONSTRAINT "service_accounts_operator_check" CHECK (("service_accounts"."role" = 'operator') = ("service_accounts"."tenant_id" is null))
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"state" text NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"private_jwk" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"activated_at" timestamp with time zone,
	"retired_at" timestamp with time zone,
	"expires_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"display_name" text,
	"status" text DEFAULT 'active' NOT NULL,
	"data_residency" text[],
	"price_plan_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_status_check" CHECK ("tenants"."status" in ('active', 'suspended'))
);
--> statement-breakpoint
CREATE TABLE "idempotency_records" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"method" text NOT NULL,
	"path" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text NOT NULL,
	"response_status" smallint,
	"response_body" text,
	"response_content_type" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_records_pkey" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "operations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid,
	"kind" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" uuid NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"progress" smallint DEFAULT 0 NOT NULL,
	"state" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	CONSTRAINT "operations_status_check" CHECK ("operations"."status" in ('pending', 'running', 'succeeded', 'failed')),
	CONSTRAINT "operations_progress_check" CHECK ("operations"."progress" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"operation_id" uuid NOT NULL,
	"queue" text NOT NULL,
	"job_name" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"relayed_at" timestamp with time zone,
	"relay_attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
ALTER TABLE "hosts" ADD CONSTRAINT "hosts_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_flavor_id_flavors_id_fk" FOREIGN KEY ("flavor_id") REFERENCES "public"."flavors"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_zone_id_zones_id_fk" FOREIGN KEY ("zone_id") REFERENCES "public"."zones"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_host_id_hosts_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."hosts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_placement_group_id_placement_groups_id_fk" FOREIGN KEY ("placement_group_id") REFERENCES "public"."placement_groups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "placement_groups" ADD CONSTRAINT "placement_groups_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quotas" ADD CONSTRAINT "quotas_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_accounts" ADD CONSTRAINT "service_accounts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "flavors_name_key" ON "flavors" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "hosts_name_key" ON "hosts" USING btree ("name");--> statement-breakpoint
CREATE INDEX "hosts_zone_idx" ON "hosts" USING btree ("zone_id");--> statement-breakpoint
CREATE INDEX "instance_events_tenant_at_idx" ON "instance_events" USING btree ("tenant_id","at");--> statement-breakpoint
CREATE INDEX "instance_events_instance_idx" ON "instance_events" USING btree ("instance_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "instances_tenant_name_key" ON "instances" USING btree ("tenant_id","name") WHERE "instances"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "instances_tenant_idx" ON "instances" USING btree ("tenant_id","id") WHERE "instances"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "instances_host_idx" ON "instances" USING btree ("host_id");--> statement-breakpoint
CREATE INDEX "instances_group_idx" ON "instances" USING btree ("placement_group_id") WHERE "instances"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "placement_groups_tenant_name_key" ON "placement_groups" USING btree ("tenant_id","name");--> statement-breakpoint
CREATE INDEX "sim_ledger_instance_idx" ON "sim_ledger" USING btree ("instance_id");--> statement-breakpoint
CREATE UNIQUE INDEX "zones_name_key" ON "zones" USING btree ("name");--> statement-breakpoint
CREATE INDEX "audit_events_tenant_idx" ON "audit_events" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "service_accounts_client_id_key" ON "service_accounts" USING btree ("client_id");--> statement-breakpoint
CREATE UNIQUE INDEX "service_accounts_tenant_name_key" ON "service_accounts" USING btree (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid),"name") WHERE "service_accounts"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "service_accounts_tenant_idx" ON "service_accounts" USING btree ("tenant_id");--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_one_active" ON "signing_keys" USING btree ("state") WHERE "signing_keys"."state" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "signing_keys_one_next" ON "signing_keys" USING btree ("state") WHERE "signing_keys"."state" = 'next';--> statement-breakpoint
CREATE UNIQUE INDEX "tenants_name_key" ON "tenants" USING btree ("name");--> statement-breakpoint
CREATE INDEX "idempotency_records_expires_idx" ON "idempotency_records" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "operations_tenant_idx" ON "operations" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "operations_target_idx" ON "operations" USING btree ("target_id");--> statement-breakpoint
CREATE INDEX "operations_open_idx" ON "operations" USING btree ("updated_at") WHERE "operations"."status" in ('pending', 'running');--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("available_at") WHERE "outbox"."relayed_at" is null;