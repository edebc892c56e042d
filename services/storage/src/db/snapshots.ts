import type { Db, SnapshotStatus } from "@igoudar/db";
import { snapshots, volumes, zones } from "@igoudar/db";
import { and, asc, eq, gt, inArray, isNull, sql } from "drizzle-orm";

export type SnapshotRow = typeof snapshots.$inferSelect;

/** A snapshot with the zone name its view shows (null once the zone itself is gone). */
export interface SnapshotRecord extends SnapshotRow {
	zoneName: string | null;
}

function selectRecords(db: Db) {
	return db
		.select({ snapshot: snapshots, zoneName: zones.name })
		.from(snapshots)
		.leftJoin(zones, eq(zones.id, snapshots.zoneId));
}

const toRecord = (row: { snapshot: SnapshotRow; zoneName: string | null }): SnapshotRecord => ({
	...row.snapshot,
	zoneName: row.zoneName,
});

export async function insertSnapshot(db: Db, values: typeof snapshots.$inferInsert): Promise<SnapshotRow> {
	const [row] = await db.insert(snapshots).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** A live snapshot of the tenant; another tenant's is as absent as a missing one. */
export async function findSnapshot(db: Db, tenantId: string, id: string): Promise<SnapshotRecord | undefined> {
	const [row] = await selectRecords(db)
		.where(and(eq(snapshots.id, id), eq(snapshots.tenantId, tenantId), isNull(snapshots.deletedAt)))
		.limit(1);
	return row ? toRecord(row) : undefined;
}

export async function listSnapshots(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
	filter: { volumeId?: string } = {},
): Promise<SnapshotRecord[]> {
	const rows = await selectRecords(db)
		.where(
			and(
				eq(snapshots.tenantId, tenantId),
				isNull(snapshots.deletedAt),
				page.after ? gt(snapshots.id, page.after) : undefined,
				filter.volumeId ? eq(snapshots.volumeId, filter.volumeId) : undefined,
			),
		)
		.orderBy(asc(snapshots.id))
		.limit(page.limit + 1);
	return rows.map(toRecord);
}

/**
 * Locks a live snapshot of the tenant: `update` to change it, `share` to restore from it while
 * keeping its delete out until the restored volume is committed.
 */
export async function lockTenantSnapshot(
	tx: Db,
	tenantId: string,
	id: string,
	mode: "update" | "share",
): Promise<SnapshotRow | undefined> {
	const [row] = await tx
		.select()
		.from(snapshots)
		.where(and(eq(snapshots.id, id), eq(snapshots.tenantId, tenantId), isNull(snapshots.deletedAt)))
		.for(mode);
	return row;
}

/**
 * Whether a volume is still being restored from the snapshot. Asked under the snapshot's row lock:
 * a restore holds it (FOR SHARE) until its volume is committed, so none can start meanwhile.
 */
export async function restoreInProgress(db: Db, snapshotId: string): Promise<boolean> {
	const [row] = await db
		.select({ id: volumes.id })
		.from(volumes)
		.where(and(eq(volumes.sourceSnapshotId, snapshotId), eq(volumes.status, "creating"), isNull(volumes.deletedAt)))
		.limit(1);
	return row !== undefined;
}

export async function findSnapshotById(db: Db, id: string): Promise<SnapshotRow | undefined> {
	const [row] = await db.select().from(snapshots).where(eq(snapshots.id, id)).limit(1);
	return row;
}

export async function lockLiveSnapshot(tx: Db, id: string): Promise<SnapshotRow | undefined> {
	const [row] = await tx
		.select()
		.from(snapshots)
		.where(and(eq(snapshots.id, id), isNull(snapshots.deletedAt)))
		.for("update");
	return row;
}

export async function transitionSnapshot(
	db: Db,
	id: string,
	from: readonly SnapshotStatus[],
	to: SnapshotStatus,
): Promise<SnapshotRow | undefined> {
	const [row] = await db
		.update(snapshots)
		.set({ status: to, updatedAt: new Date() })
		.where(and(eq(snapshots.id, id), isNull(snapshots.deletedAt), inArray(snapshots.status, [...from])))
		.returning();
	return row;
}

/** As `clearVolumePool`, for a snapshot. */
export async function clearSnapshotPool(tx: Db, id: string, outcome: "fail" | "delete"): Promise<void> {
	await tx
		.update(snapshots)
		.set({
			poolId: null,
			updatedAt: new Date(),
			...(outcome === "delete"
				? { deletedAt: new Date(), status: "deleting" as const }
				: { status: sql`case when ${snapshots.status} = 'deleting' then 'deleting' else 'failed' end` }),
		})
		.where(eq(snapshots.id, id));
}
