import type { Db } from "@igoudar/db";
import { snapshots, storagePools, volumes } from "@igoudar/db";
import { and, asc, eq, isNotNull, isNull, sql } from "drizzle-orm";

/**
 * Queries of the storage checkers of the consistency audit. A volume or snapshot holds its quota
 * and its pool space exactly while it is live and has a `pool_id`; these count what such rows add
 * up to, in a handful of grouped rows however many there are.
 */

export interface StorageHolding {
	tenantId: string;
	poolId: string;
	/** Rows holding space in this group. */
	count: number;
	/** Their `size_gib`, added up. */
	gib: number;
}

interface Scope {
	tenantId?: string;
	poolId?: string;
}

export async function countVolumesHoldingSpace(db: Db, scope: Scope = {}): Promise<StorageHolding[]> {
	const rows = await db
		.select({
			tenantId: volumes.tenantId,
			poolId: volumes.poolId,
			count: sql<number>`count(*)::int`,
			gib: sql<number>`coalesce(sum(${volumes.sizeGib}), 0)::int`,
		})
		.from(volumes)
		.where(
			and(
				isNull(volumes.deletedAt),
				isNotNull(volumes.poolId),
				scope.tenantId ? eq(volumes.tenantId, scope.tenantId) : undefined,
				scope.poolId ? eq(volumes.poolId, scope.poolId) : undefined,
			),
		)
		.groupBy(volumes.tenantId, volumes.poolId);
	return rows.flatMap((row) => (row.poolId ? [{ ...row, poolId: row.poolId }] : []));
}

export async function countSnapshotsHoldingSpace(db: Db, scope: Scope = {}): Promise<StorageHolding[]> {
	const rows = await db
		.select({
			tenantId: snapshots.tenantId,
			poolId: snapshots.poolId,
			count: sql<number>`count(*)::int`,
			gib: sql<number>`coalesce(sum(${snapshots.sizeGib}), 0)::int`,
		})
		.from(snapshots)
		.where(
			and(
				isNull(snapshots.deletedAt),
				isNotNull(snapshots.poolId),
				scope.tenantId ? eq(snapshots.tenantId, scope.tenantId) : undefined,
				scope.poolId ? eq(snapshots.poolId, scope.poolId) : undefined,
			),
		)
		.groupBy(snapshots.tenantId, snapshots.poolId);
	return rows.flatMap((row) => (row.poolId ? [{ ...row, poolId: row.poolId }] : []));
}

export interface PoolAllocationRow {
	id: string;
	name: string;
	allocatedGib: number;
}

const allocationColumns = { id: storagePools.id, name: storagePools.name, allocatedGib: storagePools.allocatedGib };

export async function readPoolAllocations(db: Db): Promise<PoolAllocationRow[]> {
	return db.select(allocationColumns).from(storagePools).orderBy(asc(storagePools.id));
}

/** One pool's allocation with its row locked: every claim and release on the pool waits. */
export async function lockPoolAllocation(tx: Db, poolId: string): Promise<PoolAllocationRow | undefined> {
	const [row] = await tx.select(allocationColumns).from(storagePools).where(eq(storagePools.id, poolId)).for("update");
	return row;
}

export async function setPoolAllocation(tx: Db, poolId: string, allocatedGib: number): Promise<void> {
	await tx.update(storagePools).set({ allocatedGib, updatedAt: new Date() }).where(eq(storagePools.id, poolId));
}
