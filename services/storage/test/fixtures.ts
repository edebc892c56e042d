import { randomBytes } from "node:crypto";
import {
	type Db,
	flavors,
	hosts,
	type InstanceStatus,
	instances,
	operations,
	quotas,
	snapshots,
	storagePools,
	volumes,
	zones,
} from "@igoudar/db";
import type { TestPlatform } from "@igoudar/server/testing";
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";

const suffix = () => randomBytes(4).toString("hex");

/** Inventory written straight to the database: these tests are about storage requests. */
export async function makeZone(db: Db, jurisdiction = "ZZ"): Promise<{ id: string; name: string }> {
	const [row] = await db
		.insert(zones)
		.values({ name: `z-${suffix()}`, jurisdiction })
		.returning();
	if (!row) throw new Error("no zone");
	return row;
}

export async function makePool(
	db: Db,
	zoneId: string,
	options: { capacityGib: number; storageClass?: string; overcommitRatio?: number },
): Promise<{ id: string; name: string; storageClass: string }> {
	const [row] = await db
		.insert(storagePools)
		.values({
			name: `p-${suffix()}`,
			zoneId,
			storageClass: options.storageClass ?? "ssd",
			driver: "simulated",
			capacityGib: options.capacityGib,
			overcommitRatio: options.overcommitRatio ?? 1,
		})
		.returning();
	if (!row) throw new Error("no pool");
	return row;
}

/**
 * An instance row as the compute sagas leave it, holding no host (storage only needs its zone);
 * with a flavor, the instance routes see it too.
 */
export async function makeInstance(
	db: Db,
	tenantId: string,
	zoneId: string,
	status: InstanceStatus = "running",
	flavorId: string | null = null,
): Promise<{ id: string }> {
	const [row] = await db
		.insert(instances)
		.values({ tenantId, name: `vm-${suffix()}`, zoneId, flavorId, status, vcpus: 1, memoryMib: 1024, diskGib: 10 })
		.returning();
	if (!row) throw new Error("no instance");
	return row;
}

export async function setQuota(db: Db, tenantId: string, limits: Record<string, number>): Promise<void> {
	for (const [resource, limit] of Object.entries(limits)) {
		await db
			.update(quotas)
			.set({ limit })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
	}
}

export async function quotaUsed(db: Db, tenantId: string): Promise<Record<string, number>> {
	const rows = await db.select().from(quotas).where(eq(quotas.tenantId, tenantId));
	return Object.fromEntries(rows.map((r) => [r.resource, r.used]));
}

/** What the tenant's live volumes and snapshots holding space add up to: what the counters must equal. */
export async function recountStorage(db: Db, tenantId: string) {
	const [volume] = await db
		.select({ volumes: sql<number>`count(*)::int`, volume_gib: sql<number>`coalesce(sum(${volumes.sizeGib}), 0)::int` })
		.from(volumes)
		.where(and(eq(volumes.tenantId, tenantId), isNull(volumes.deletedAt), isNotNull(volumes.poolId)));
	const [snapshot] = await db
		.select({ snapshots: sql<number>`count(*)::int` })
		.from(snapshots)
		.where(and(eq(snapshots.tenantId, tenantId), isNull(snapshots.deletedAt), isNotNull(snapshots.poolId)));
	return { volumes: volume?.volumes ?? 0, volume_gib: volume?.volume_gib ?? 0, snapshots: snapshot?.snapshots ?? 0 };
}

/** A pool's counter and what its live volumes and snapshots hold. */
export async function poolAllocation(db: Db, poolId: string): Promise<{ stored: number; actual: number }> {
	const [pool] = await db.select().from(storagePools).where(eq(storagePools.id, poolId));
	const [volume] = await db
		.select({ gib: sql<number>`coalesce(sum(${volumes.sizeGib}), 0)::int` })
		.from(volumes)
		.where(and(eq(volumes.poolId, poolId), isNull(volumes.deletedAt)));
	const [snapshot] = await db
		.select({ gib: sql<number>`coalesce(sum(${snapshots.sizeGib}), 0)::int` })
		.from(snapshots)
		.where(and(eq(snapshots.poolId, poolId), isNull(snapshots.deletedAt)));
	return { stored: pool?.allocatedGib ?? -1, actual: (volume?.gib ?? 0) + (snapshot?.gib ?? 0) };
}

/**
 * Ends the open operations on these volumes as their sagas would and leaves the volumes in
 * `status`: the request side is under test here, not the provisioner.
 */
export async function settleVolumes(db: Db, ids: string[], status: "available" | "in_use" = "available") {
	if (ids.length === 0) return;
	await db
		.update(operations)
		.set({ status: "succeeded", progress: 100, completedAt: new Date() })
		.where(and(inArray(operations.targetId, ids), inArray(operations.status, ["pending", "running"])));
	await db.update(volumes).set({ status }).where(inArray(volumes.id, ids));
}

/** Ends every open operation of the tenant, as if the workers had caught up (frees its operation slots). */
export async function settleTenantOperations(db: Db, tenantId: string) {
	await db
		.update(operations)
		.set({ status: "succeeded", progress: 100, completedAt: new Date() })
		.where(and(eq(operations.tenantId, tenantId), inArray(operations.status, ["pending", "running"])));
}

/** A flavor and a host with room for many small instances, for creates that attach volumes. */
export async function makeComputeCapacity(db: Db, zoneId: string): Promise<{ flavor: string; flavorId: string }> {
	await db.insert(hosts).values({
		name: `h-${suffix()}`,
		zoneId,
		vcpus: 512,
		memoryMib: 1_048_576,
		diskGib: 100_000,
		cpuAllocationRatio: 1,
		memoryAllocationRatio: 1,
	});
	const [flavor] = await db
		.insert(flavors)
		.values({ name: `f-${suffix()}`, vcpus: 1, memoryMib: 128, diskGib: 1 })
		.returning();
	if (!flavor) throw new Error("no flavor");
	return { flavor: flavor.name, flavorId: flavor.id };
}

export async function settleSnapshots(db: Db, ids: string[]) {
	if (ids.length === 0) return;
	await db
		.update(operations)
		.set({ status: "succeeded", progress: 100, completedAt: new Date() })
		.where(and(inArray(operations.targetId, ids), inArray(operations.status, ["pending", "running"])));
	await db.update(snapshots).set({ status: "available" }).where(inArray(snapshots.id, ids));
}

export function tally(results: { status: number }[]): Record<number, number> {
	const out: Record<number, number> = {};
	for (const r of results) out[r.status] = (out[r.status] ?? 0) + 1;
	return out;
}

export interface VolumeBody {
	id: string;
	name: string;
	size_gib: number;
	zone: string | null;
	storage_class: string;
	status: string;
	instance_id: string | null;
	source_snapshot_id: string | null;
	code?: string;
}

/** Creates a volume through the API and returns it, failing the test on anything but 202. */
export async function createVolume(
	t: TestPlatform,
	tenantId: string,
	token: string,
	body: Record<string, unknown>,
): Promise<VolumeBody> {
	const res = await t.request<{ volume: VolumeBody }>("POST", `/v1/tenants/${tenantId}/volumes`, {
		token,
		body: { name: `v-${suffix()}`, ...body },
	});
	if (res.status !== 202) throw new Error(`volume create failed: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body.volume;
}
