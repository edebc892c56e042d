import { sql } from "drizzle-orm";
import {
	bigint,
	bigserial,
	check,
	doublePrecision,
	index,
	integer,
	jsonb,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";
import { tenants } from "./identity";

export const zones = pgTable(
	"zones",
	{
		id: idColumn(),
		name: text("name").notNull(),
		/** ISO 3166-1 alpha-2 country whose law governs data in this zone. */
		jurisdiction: text("jurisdiction").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [uniqueIndex("zones_name_key").on(t.name)],
);

/**
 * Hypervisors. `*_used` are allocation counters changed only by conditional UPDATEs against the
 * capacity after allocation ratios, so parallel placements can never overcommit a host.
 */
export const hosts = pgTable(
	"hosts",
	{
		id: idColumn(),
		name: text("name").notNull(),
		zoneId: uuid("zone_id")
			.notNull()
			.references(() => zones.id),
		status: text("status", { enum: ["enabled", "disabled"] })
			.notNull()
			.default("enabled"),
		vcpus: integer("vcpus").notNull(),
		memoryMib: integer("memory_mib").notNull(),
		diskGib: integer("disk_gib").notNull(),
		cpuAllocationRatio: doublePrecision("cpu_allocation_ratio").notNull().default(4),
		memoryAllocationRatio: doublePrecision("memory_allocation_ratio").notNull().default(1),
		powerIdleW: integer("power_idle_w"),
		powerMaxW: integer("power_max_w"),
		/** Carbon of making the machine, amortised over `lifetime_years` in the energy ledger. */
		embodiedKgco2e: integer("embodied_kgco2e"),
		lifetimeYears: integer("lifetime_years"),
		vcpusUsed: integer("vcpus_used").notNull().default(0),
		memoryMibUsed: integer("memory_mib_used").notNull().default(0),
		diskGibUsed: integer("disk_gib_used").notNull().default(0),
		instanceCount: integer("instance_count").notNull().default(0),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("hosts_name_key").on(t.name),
		index("hosts_zone_idx").on(t.zoneId),
		check("hosts_status_check", sql`${t.status} in ('enabled', 'disabled')`),
		check("hosts_capacity_positive", sql`${t.vcpus} > 0 and ${t.memoryMib} > 0 and ${t.diskGib} >= 0`),
		check("hosts_ratios_positive", sql`${t.cpuAllocationRatio} > 0 and ${t.memoryAllocationRatio} > 0`),
		check(
			"hosts_usage_nonnegative",
			sql`${t.vcpusUsed} >= 0 and ${t.memoryMibUsed} >= 0 and ${t.diskGibUsed} >= 0 and ${t.instanceCount} >= 0`,
		),
		check(
			"hosts_embodied_check",
			sql`(${t.embodiedKgco2e} is null or ${t.embodiedKgco2e} >= 0) and (${t.lifetimeYears} is null or ${t.lifetimeYears} > 0)`,
		),
		check(
			"hosts_power_check",
			sql`(${t.powerIdleW} is null or ${t.powerIdleW} >= 0) and (${t.powerMaxW} is null or ${t.powerMaxW} >= coalesce(${t.powerIdleW}, 0))`,
		),
	],
);

export const flavors = pgTable(
	"flavors",
	{
		id: idColumn(),
		name: text("name").notNull(),
		vcpus: integer("vcpus").notNull(),
		memoryMib: integer("memory_mib").notNull(),
		diskGib: integer("disk_gib").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("flavors_name_key").on(t.name),
		check("flavors_size_positive", sql`${t.vcpus} > 0 and ${t.memoryMib} > 0 and ${t.diskGib} >= 0`),
	],
);

export const placementGroups = pgTable(
	"placement_groups",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		policy: text("policy", { enum: ["affinity", "anti-affinity"] }).notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("placement_groups_tenant_name_key").on(t.tenantId, t.name),
		check("placement_groups_policy_check", sql`${t.policy} in ('affinity', 'anti-affinity')`),
	],
);

export const INSTANCE_STATUSES = [
	"provisioning",
	"running",
	"stopping",
	"stopped",
	"starting",
	"rebooting",
	"deleting",
	"failed",
] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/**
 * Instances keep their row after deletion (`deleted_at`) so usage and billing can be computed
 * from lifetimes; every read of live instances filters on `deleted_at is null`. The size is copied
 * from the flavor at creation, so what was claimed is exactly what is released.
 */
export const instances = pgTable(
	"instances",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		/**
		 * Null only on deleted instances whose flavor or zone was later retired: a live instance
		 * blocks those deletes, its history must not.
		 */
		flavorId: uuid("flavor_id").references(() => flavors.id, { onDelete: "set null" }),
		zoneId: uuid("zone_id").references(() => zones.id, { onDelete: "set null" }),
		/** Set while the instance holds capacity on the host; null once released. */
		hostId: uuid("host_id").references(() => hosts.id),
		placementGroupId: uuid("placement_group_id").references(() => placementGroups.id),
		status: text("status", { enum: INSTANCE_STATUSES }).notNull(),
		vcpus: integer("vcpus").notNull(),
		memoryMib: integer("memory_mib").notNull(),
		diskGib: integer("disk_gib").notNull(),
		labels: jsonb("labels").$type<Record<string, string>>().notNull().default({}),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
		deletedAt: tsColumn("deleted_at"),
	},
	(t) => [
		uniqueIndex("instances_tenant_name_key").on(t.tenantId, t.name).where(sql`${t.deletedAt} is null`),
		index("instances_tenant_idx").on(t.tenantId, t.id).where(sql`${t.deletedAt} is null`),
		index("instances_host_idx").on(t.hostId),
		index("instances_group_idx").on(t.placementGroupId).where(sql`${t.deletedAt} is null`),
		check(
			"instances_status_check",
			sql`${t.status} in ('provisioning', 'running', 'stopping', 'stopped', 'starting', 'rebooting', 'deleting', 'failed')`,
		),
	],
);

/**
 * Every status an instance passes through, with when: the lifetimes usage and billing are
 * computed from (running time for instances). Written by a trigger on `instances` (migration
 * 0001), so no code path can change a status without leaving its event, in the same transaction.
 * `deleted` marks the end of a lifetime. Kept after the tenant is gone: invoices outlive tenants.
 */
export const instanceEvents = pgTable(
	"instance_events",
	{
		id: bigserial("id", { mode: "number" }).primaryKey(),
		instanceId: uuid("instance_id").notNull(),
		tenantId: uuid("tenant_id").notNull(),
		status: text("status").notNull(),
		/** The host holding the instance's capacity after the change (migration 0006): energy follows it. */
		hostId: uuid("host_id"),
		at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().default(sql`clock_timestamp()`),
	},
	(t) => [
		index("instance_events_tenant_at_idx").on(t.tenantId, t.at),
		index("instance_events_instance_idx").on(t.instanceId, t.id),
		index("instance_events_host_at_idx").on(t.hostId, t.at),
	],
);

/** Operator-wide settings, one row per key (e.g. the placement weigher). */
export const platformSettings = pgTable("platform_settings", {
	key: text("key").primaryKey(),
	value: jsonb("value").$type<Record<string, unknown>>().notNull(),
	updatedAt: updatedAt(),
});

/**
 * State of the `simulated` compute driver: the machines it believes exist, and a ledger of every
 * effect it performed. Kept in Postgres so it survives a killed worker and tests in other
 * processes can prove nothing was done twice and nothing was left behind.
 */
export const simMachines = pgTable("sim_machines", {
	instanceId: uuid("instance_id").primaryKey(),
	hostId: uuid("host_id").notNull(),
	powerState: text("power_state", { enum: ["off", "on"] }).notNull(),
	createdAt: createdAt(),
	updatedAt: updatedAt(),
});

export const simLedger = pgTable(
	"sim_ledger",
	{
		seq: bigserial("seq", { mode: "number" }).primaryKey(),
		instanceId: uuid("instance_id").notNull(),
		effect: text("effect").notNull(),
		/** The (operation, step) token of the call that had the effect: a repeat is recognised by it. */
		idempotencyKey: text("idempotency_key"),
		/** The fencing token of the run that made the call. */
		fence: bigint("fence", { mode: "number" }),
		at: createdAt(),
	},
	(t) => [
		index("sim_ledger_instance_idx").on(t.instanceId),
		uniqueIndex("sim_ledger_idempotency_key").on(t.idempotencyKey),
	],
);

/**
 * The highest fencing token the simulated data plane has seen per machine. A call carrying a
 * smaller one comes from a run that has been superseded and is refused, atomically with the
 * effect it would have had. Kept after the machine is gone, so a late create cannot revive it.
 */
export const simFences = pgTable("sim_fences", {
	instanceId: uuid("instance_id").primaryKey(),
	fence: bigint("fence", { mode: "number" }).notNull(),
	updatedAt: updatedAt(),
});

/** Faults to inject into the simulated driver: the next `remaining` calls of `action` fail. */
export const simFaults = pgTable("sim_faults", {
	id: idColumn(),
	action: text("action").notNull(),
	instanceId: uuid("instance_id"),
	kind: text("kind", { enum: ["transient", "permanent"] }).notNull(),
	remaining: integer("remaining").notNull(),
	createdAt: createdAt(),
});
