import type { Db } from "@igoudar/db";
import { storagePools, zones } from "@igoudar/db";
import { and, desc, eq, inArray, notInArray, sql } from "drizzle-orm";

/** What may be allocated on a pool, after overcommit, as SQL: the filter and the claim share it. */
export const poolCapacity = sql`floor(${storagePools.capacityGib} * ${storagePools.overcommitRatio})::int`;

export interface PoolFilter {
	sizeGib: number;
	zoneId?: string;
	storageClass?: string;
	/** Allowed jurisdictions; null means anywhere. */
	jurisdictions: string[] | null;
	excludePoolIds?: string[];
}

/**
 * Enabled pools that fit, most free space first. Only a ranking: the claim that follows re-checks
 * the room in one conditional UPDATE, and a pool filled meanwhile is skipped.
 */
export async function candidatePools(
	db: Db,
	filter: PoolFilter,
	limit = 16,
): Promise<{ id: string; zoneId: string; storageClass: string; driver: string }[]> {
	return db
		.select({
			id: storagePools.id,
			zoneId: storagePools.zoneId,
			storageClass: storagePools.storageClass,
			driver: storagePools.driver,
		})
		.from(storagePools)
		.innerJoin(zones, eq(zones.id, storagePools.zoneId))
		.where(
			and(
				eq(storagePools.status, "enabled"),
				sql`${storagePools.allocatedGib} + ${filter.sizeGib} <= ${poolCapacity}`,
				filter.zoneId ? eq(storagePools.zoneId, filter.zoneId) : undefined,
				filter.storageClass ? eq(storagePools.storageClass, filter.storageClass) : undefined,
				filter.jurisdictions ? inArray(zones.jurisdiction, filter.jurisdictions) : undefined,
				filter.excludePoolIds?.length ? notInArray(storagePools.id, filter.excludePoolIds) : undefined,
			),
		)
		.orderBy(desc(sql`${poolCapacity} - ${storagePools.allocatedGib}`), storagePools.id)
		.limit(limit);
}

/** Claims `gib` on the pool if it is enabled and has the room: one conditional UPDATE. */
export async function claimPoolSpace(db: Db, poolId: string, gib: number): Promise<boolean> {
	const claimed = await db
		.update(storagePools)
		.set({ allocatedGib: sql`${storagePools.allocatedGib} + ${gib}`, updatedAt: new Date() })
		.where(
			and(
				eq(storagePools.id, poolId),
				eq(storagePools.status, "enabled"),
				sql`${storagePools.allocatedGib} + ${gib} <= ${poolCapacity}`,
			),
		)
		.returning({ id: storagePools.id });
	return claimed.length === 1;
}

/**
 * Claims a resize's difference on the pool the volume already uses; a disabled pool still grows
 * what it holds (disabling stops new placements, not the tenants already on it).
 */
export async function growPoolSpace(db: Db, poolId: string, gib: number): Promise<boolean> {
	const claimed = await db
		.update(storagePools)
		.set({ allocatedGib: sql`${storagePools.allocatedGib} + ${gib}`, updatedAt: new Date() })
		.where(and(eq(storagePools.id, poolId), sql`${storagePools.allocatedGib} + ${gib} <= ${poolCapacity}`))
		.returning({ id: storagePools.id });
	return claimed.length === 1;
}

export async function releasePoolSpace(db: Db, poolId: string, gib: number): Promise<void> {
	await db
		.update(storagePools)
		.set({ allocatedGib: sql`greatest(${storagePools.allocatedGib} - ${gib}, 0)`, updatedAt: new Date() })
		.where(eq(storagePools.id, poolId));
}

export async function findPoolById(db: Db, id: string) {
	const [row] = await db.select().from(storagePools).where(eq(storagePools.id, id));
	return row;
}
