import type { Db } from "@igoudar/db";
import { snapshots, storagePools, volumes, zones } from "@igoudar/db";
import { and, asc, desc, eq, gt, inArray, notInArray, sql } from "drizzle-orm";

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

export type PoolRow = typeof storagePools.$inferSelect;
export type PoolStatus = PoolRow["status"];

/** A pool with the zone name its view shows instead of the zone id. */
export interface PoolRecord extends PoolRow {
	zoneName: string;
}

function selectRecords(db: Db) {
	return db
		.select({ pool: storagePools, zoneName: zones.name })
		.from(storagePools)
		.innerJoin(zones, eq(zones.id, storagePools.zoneId));
}

const toRecord = (row: { pool: PoolRow; zoneName: string }): PoolRecord => ({ ...row.pool, zoneName: row.zoneName });

export async function insertPool(db: Db, values: typeof storagePools.$inferInsert): Promise<PoolRow> {
	const [row] = await db.insert(storagePools).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findPool(db: Db, id: string): Promise<PoolRecord | undefined> {
	const [row] = await selectRecords(db).where(eq(storagePools.id, id)).limit(1);
	return row ? toRecord(row) : undefined;
}

export interface PoolListFilter {
	zoneId?: string;
	storageClass?: string;
	status?: PoolStatus;
}

export async function listPools(
	db: Db,
	page: { limit: number; after?: string },
	filter: PoolListFilter = {},
): Promise<PoolRecord[]> {
	const rows = await selectRecords(db)
		.where(
			and(
				page.after ? gt(storagePools.id, page.after) : undefined,
				filter.zoneId ? eq(storagePools.zoneId, filter.zoneId) : undefined,
				filter.storageClass ? eq(storagePools.storageClass, filter.storageClass) : undefined,
				filter.status ? eq(storagePools.status, filter.status) : undefined,
			),
		)
		.orderBy(asc(storagePools.id))
		.limit(page.limit + 1);
	return rows.map(toRecord);
}

/**
 * Locks the pool row for the rest of the transaction. Every claim and release on the pool updates
 * this row, so a check made under the lock cannot be overtaken before the change it guards.
 */
export async function lockPool(db: Db, id: string): Promise<PoolRow | undefined> {
	const [row] = await db.select().from(storagePools).where(eq(storagePools.id, id)).for("update");
	return row;
}

export type PoolChanges = Partial<Pick<PoolRow, "status" | "capacityGib" | "overcommitRatio">>;

export async function updatePool(db: Db, id: string, changes: PoolChanges): Promise<void> {
	await db
		.update(storagePools)
		.set({ ...changes, updatedAt: new Date() })
		.where(eq(storagePools.id, id));
}

/** Whether any pool, enabled or not, serves the class: tells an unknown class from a full one. */
export async function storageClassExists(db: Db, storageClass: string): Promise<boolean> {
	const [row] = await db
		.select({ id: storagePools.id })
		.from(storagePools)
		.where(eq(storagePools.storageClass, storageClass))
		.limit(1);
	return row !== undefined;
}

/**
 * Deletes the pool only while nothing is on it. `allocated_gib` moves in the same conditional
 * UPDATE as every claim, so checking it on the row is re-evaluated after a concurrent claim's row
 * lock; the `not exists` cover drift between the counter and the rows, and the foreign keys back
 * both.
 */
export async function deletePoolIfEmpty(db: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const deleted = await db
		.delete(storagePools)
		.where(
			and(
				eq(storagePools.id, id),
				eq(storagePools.allocatedGib, 0),
				sql`not exists (select 1 from ${volumes} where ${volumes.poolId} = ${id})`,
				sql`not exists (select 1 from ${snapshots} where ${snapshots.poolId} = ${id})`,
			),
		)
		.returning({ id: storagePools.id });
	if (deleted.length === 1) return "deleted";
	return (await findPool(db, id)) ? "in_use" : "missing";
}

/** Every pool's allocation and what may still be allocated, for the metrics gauges. */
export async function readPoolUsage(db: Db) {
	return db
		.select({
			pool: storagePools.name,
			zone: zones.name,
			storageClass: storagePools.storageClass,
			allocatedGib: storagePools.allocatedGib,
			freeGib: sql<number>`greatest(${poolCapacity} - ${storagePools.allocatedGib}, 0)::int`,
		})
		.from(storagePools)
		.innerJoin(zones, eq(zones.id, storagePools.zoneId))
		.orderBy(asc(storagePools.name));
}
