import { sql } from "drizzle-orm";
import {
	bigint,
	bigserial,
	check,
	doublePrecision,
	index,
	integer,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";
import { instances, zones } from "./compute";
import { tenants } from "./identity";

export const STORAGE_DRIVERS = ["simulated", "local"] as const;
export type StorageDriverName = (typeof STORAGE_DRIVERS)[number];

/**
 * Block storage capacity of one storage class in one zone, served by one driver. `allocated_gib`
 * moves only through conditional UPDATEs in the transactions that set or clear a volume's or
 * snapshot's `pool_id`, exactly like a host's allocation; what may be allocated is
 * `floor(capacity_gib * overcommit_ratio)`.
 */
export const storagePools = pgTable(
	"storage_pools",
	{
		id: idColumn(),
		name: text("name").notNull(),
		zoneId: uuid("zone_id")
			.notNull()
			.references(() => zones.id),
		storageClass: text("storage_class").notNull(),
		driver: text("driver", { enum: STORAGE_DRIVERS }).notNull(),
		capacityGib: integer("capacity_gib").notNull(),
		overcommitRatio: doublePrecision("overcommit_ratio").notNull().default(1),
		allocatedGib: integer("allocated_gib").notNull().default(0),
		status: text("status", { enum: ["enabled", "disabled"] })
			.notNull()
			.default("enabled"),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("storage_pools_name_key").on(t.name),
		index("storage_pools_zone_class_idx").on(t.zoneId, t.storageClass),
		check("storage_pools_capacity_check", sql`${t.capacityGib} > 0`),
		check("storage_pools_overcommit_check", sql`${t.overcommitRatio} >= 1 and ${t.overcommitRatio} <= 16`),
		check("storage_pools_allocated_check", sql`${t.allocatedGib} >= 0`),
		check("storage_pools_status_check", sql`${t.status} in ('enabled', 'disabled')`),
		check("storage_pools_driver_check", sql`${t.driver} in ('simulated', 'local')`),
	],
);

export const VOLUME_STATUSES = [
	"creating",
	"available",
	"attaching",
	"in_use",
	"detaching",
	"resizing",
	"deleting",
	"failed",
] as const;
export type VolumeStatus = (typeof VOLUME_STATUSES)[number];

/**
 * A volume holds its quota (`volumes`, `volume_gib`) and its pool space exactly while `pool_id` is
 * set, as an instance does with `host_id`: releasing both and clearing it happen in one
 * transaction. `instance_id` is the attachment, the one source of truth for which volumes an
 * instance has. Rows stay after deletion (`deleted_at`) for usage and billing.
 */
export const volumes = pgTable(
	"volumes",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		sizeGib: integer("size_gib").notNull(),
		zoneId: uuid("zone_id").references(() => zones.id, { onDelete: "set null" }),
		storageClass: text("storage_class").notNull(),
		/** Set while the volume holds quota and pool space. */
		poolId: uuid("pool_id").references(() => storagePools.id),
		status: text("status", { enum: VOLUME_STATUSES }).notNull(),
		instanceId: uuid("instance_id").references(() => instances.id),
		/** The snapshot it was restored from, if any. */
		sourceSnapshotId: uuid("source_snapshot_id"),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
		deletedAt: tsColumn("deleted_at"),
	},
	(t) => [
		uniqueIndex("volumes_tenant_name_key").on(t.tenantId, t.name).where(sql`${t.deletedAt} is null`),
		index("volumes_tenant_idx").on(t.tenantId, t.id).where(sql`${t.deletedAt} is null`),
		index("volumes_pool_idx").on(t.poolId),
		index("volumes_instance_idx").on(t.instanceId).where(sql`${t.deletedAt} is null`),
		check("volumes_size_check", sql`${t.sizeGib} > 0`),
		check(
			"volumes_status_check",
			sql`${t.status} in ('creating', 'available', 'attaching', 'in_use', 'detaching', 'resizing', 'deleting', 'failed')`,
		),
	],
);

export const SNAPSHOT_STATUSES = ["creating", "available", "deleting", "failed"] as const;
export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];

/**
 * A point-in-time copy of a volume, kept on the volume's pool. It holds its quota (`snapshots`)
 * and `size_gib` of pool space exactly while `pool_id` is set. A snapshot is a full copy, so it
 * outlives the volume it was taken from and can still be restored.
 */
export const snapshots = pgTable(
	"snapshots",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		volumeId: uuid("volume_id")
			.notNull()
			.references(() => volumes.id),
		sizeGib: integer("size_gib").notNull(),
		zoneId: uuid("zone_id").references(() => zones.id, { onDelete: "set null" }),
		storageClass: text("storage_class").notNull(),
		poolId: uuid("pool_id").references(() => storagePools.id),
		status: text("status", { enum: SNAPSHOT_STATUSES }).notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
		deletedAt: tsColumn("deleted_at"),
	},
	(t) => [
		uniqueIndex("snapshots_tenant_name_key").on(t.tenantId, t.name).where(sql`${t.deletedAt} is null`),
		index("snapshots_tenant_idx").on(t.tenantId, t.id).where(sql`${t.deletedAt} is null`),
		index("snapshots_volume_idx").on(t.volumeId),
		index("snapshots_pool_idx").on(t.poolId),
		check("snapshots_size_check", sql`${t.sizeGib} > 0`),
		check("snapshots_status_check", sql`${t.status} in ('creating', 'available', 'deleting', 'failed')`),
	],
);

/**
 * Every status and size a volume or snapshot passes through, with when: usage and billing
 * compute allocated GiB over time from these. Written by triggers (migration 0003) in the
 * transaction of the change, whatever code path made it; `deleted` ends a lifetime.
 */
export const storageEvents = pgTable(
	"storage_events",
	{
		id: bigserial("id", { mode: "number" }).primaryKey(),
		resourceType: text("resource_type", { enum: ["volume", "snapshot"] }).notNull(),
		resourceId: uuid("resource_id").notNull(),
		tenantId: uuid("tenant_id").notNull(),
		status: text("status").notNull(),
		sizeGib: integer("size_gib").notNull(),
		at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().default(sql`clock_timestamp()`),
	},
	(t) => [
		index("storage_events_tenant_at_idx").on(t.tenantId, t.at),
		index("storage_events_resource_idx").on(t.resourceId, t.id),
	],
);

/**
 * State of the `simulated` storage driver: the volumes and snapshots it believes exist, their
 * attachments, a ledger of every effect with its idempotency key, and the largest fence seen per
 * resource, as `sim_machines`, `sim_ledger` and `sim_fences` are for compute.
 */
export const simVolumes = pgTable("sim_volumes", {
	resourceId: uuid("resource_id").primaryKey(),
	kind: text("kind", { enum: ["volume", "snapshot"] }).notNull(),
	poolId: uuid("pool_id").notNull(),
	sizeGib: integer("size_gib").notNull(),
	attachedTo: uuid("attached_to"),
	createdAt: createdAt(),
	updatedAt: updatedAt(),
});

export const simStorageLedger = pgTable(
	"sim_storage_ledger",
	{
		seq: bigserial("seq", { mode: "number" }).primaryKey(),
		resourceId: uuid("resource_id").notNull(),
		effect: text("effect").notNull(),
		idempotencyKey: text("idempotency_key"),
		fence: bigint("fence", { mode: "number" }),
		at: createdAt(),
	},
	(t) => [
		index("sim_storage_ledger_resource_idx").on(t.resourceId),
		uniqueIndex("sim_storage_ledger_idempotency_key").on(t.idempotencyKey),
	],
);
