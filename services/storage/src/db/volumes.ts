import type { Db, VolumeStatus } from "@igoudar/db";
import { snapshots, volumes, zones } from "@igoudar/db";
import { and, asc, eq, gt, inArray, isNull, sql } from "drizzle-orm";

export type VolumeRow = typeof volumes.$inferSelect;

/** A volume with the zone name its view shows (null once the zone itself is gone). */
export interface VolumeRecord extends VolumeRow {
	zoneName: string | null;
}

function selectRecords(db: Db) {
	return db
		.select({ volume: volumes, zoneName: zones.name })
		.from(volumes)
		.leftJoin(zones, eq(zones.id, volumes.zoneId));
}

const toRecord = (row: { volume: VolumeRow; zoneName: string | null }): VolumeRecord => ({
	...row.volume,
	zoneName: row.zoneName,
});

export async function insertVolume(db: Db, values: typeof volumes.$inferInsert): Promise<VolumeRow> {
	const [row] = await db.insert(volumes).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** A live volume of the tenant; another tenant's volume is as absent as a missing one. */
export async function findVolume(db: Db, tenantId: string, id: string): Promise<VolumeRecord | undefined> {
	const [row] = await selectRecords(db)
		.where(and(eq(volumes.id, id), eq(volumes.tenantId, tenantId), isNull(volumes.deletedAt)))
		.limit(1);
	return row ? toRecord(row) : undefined;
}

export interface VolumeListFilter {
	status?: VolumeStatus;
	zoneId?: string;
	instanceId?: string;
}

export async function listVolumes(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
	filter: VolumeListFilter = {},
): Promise<VolumeRecord[]> {
	const rows = await selectRecords(db)
		.where(
			and(
				eq(volumes.tenantId, tenantId),
				isNull(volumes.deletedAt),
				page.after ? gt(volumes.id, page.after) : undefined,
				filter.status ? eq(volumes.status, filter.status) : undefined,
				filter.zoneId ? eq(volumes.zoneId, filter.zoneId) : undefined,
				filter.instanceId ? eq(volumes.instanceId, filter.instanceId) : undefined,
			),
		)
		.orderBy(asc(volumes.id))
		.limit(page.limit + 1);
	return rows.map(toRecord);
}

/**
 * Locks a live volume of the tenant for the rest of the transaction: `update` for a change of the
 * volume, `share` to copy from it (a snapshot) while keeping a delete or resize out until commit.
 */
export async function lockTenantVolume(
	tx: Db,
	tenantId: string,
	id: string,
	mode: "update" | "share",
): Promise<VolumeRow | undefined> {
	const [row] = await tx
		.select()
		.from(volumes)
		.where(and(eq(volumes.id, id), eq(volumes.tenantId, tenantId), isNull(volumes.deletedAt)))
		.for(mode);
	return row;
}

/**
 * Whether a snapshot of the volume is still being taken. Asked under the volume's row lock: a
 * snapshot create holds that lock (FOR SHARE) until it commits, so none can start meanwhile.
 */
export async function snapshotInProgress(db: Db, volumeId: string): Promise<boolean> {
	const [row] = await db
		.select({ id: snapshots.id })
		.from(snapshots)
		.where(and(eq(snapshots.volumeId, volumeId), eq(snapshots.status, "creating"), isNull(snapshots.deletedAt)))
		.limit(1);
	return row !== undefined;
}

/** By id only: for workers, which act on behalf of whichever tenant owns the volume. */
export async function findVolumeById(db: Db, id: string): Promise<VolumeRow | undefined> {
	const [row] = await db.select().from(volumes).where(eq(volumes.id, id)).limit(1);
	return row;
}

/** Locks a live volume for the rest of the transaction. */
export async function lockLiveVolume(tx: Db, id: string): Promise<VolumeRow | undefined> {
	const [row] = await tx
		.select()
		.from(volumes)
		.where(and(eq(volumes.id, id), isNull(volumes.deletedAt)))
		.for("update");
	return row;
}

/**
 * Moves a live volume from one of `from` to `to` in one conditional UPDATE: two requests racing
 * on the same volume (two attaches) cannot both win.
 */
export async function transitionVolume(
	db: Db,
	id: string,
	from: readonly VolumeStatus[],
	to: VolumeStatus,
	extra: Partial<Pick<VolumeRow, "instanceId" | "sizeGib">> = {},
): Promise<VolumeRow | undefined> {
	const [row] = await db
		.update(volumes)
		.set({ status: to, updatedAt: new Date(), ...extra })
		.where(and(eq(volumes.id, id), isNull(volumes.deletedAt), inArray(volumes.status, [...from])))
		.returning();
	return row;
}

/**
 * Clears the pool a volume held (the caller released its claims in the same transaction): `fail`
 * leaves it visible as `failed` (or `deleting` when a delete already cancelled its create);
 * `delete` retires it.
 */
export async function clearVolumePool(tx: Db, id: string, outcome: "fail" | "delete"): Promise<void> {
	await tx
		.update(volumes)
		.set({
			poolId: null,
			instanceId: null,
			updatedAt: new Date(),
			...(outcome === "delete"
				? { deletedAt: new Date(), status: "deleting" as const }
				: { status: sql`case when ${volumes.status} = 'deleting' then 'deleting' else 'failed' end` }),
		})
		.where(eq(volumes.id, id));
}

/** The live volumes an instance has or is getting, by id (the lock order). */
export async function volumesOfInstance(db: Db, instanceId: string): Promise<VolumeRow[]> {
	return db
		.select()
		.from(volumes)
		.where(and(eq(volumes.instanceId, instanceId), isNull(volumes.deletedAt)))
		.orderBy(volumes.id);
}

/** `volumesOfInstance` for many instances in one SELECT, by instance id (by volume id within one). */
export async function volumesOfInstances(db: Db, instanceIds: readonly string[]): Promise<Map<string, VolumeRow[]>> {
	const rows = await db
		.select()
		.from(volumes)
		.where(and(sql`${volumes.instanceId} = any(${sql.param(instanceIds)}::uuid[])`, isNull(volumes.deletedAt)))
		.orderBy(volumes.id);
	const byInstance = new Map<string, VolumeRow[]>();
	for (const row of rows) {
		if (!row.instanceId) continue;
		const list = byInstance.get(row.instanceId) ?? [];
		list.push(row);
		byInstance.set(row.instanceId, list);
	}
	return byInstance;
}

/**
 * Ends the attachments of an instance whose create failed or which is gone, in the caller's
 * transaction: every volume back to available, attached to nothing. (A create that succeeded
 * settles its volumes with `attachedToInstances`.)
 */
export async function releaseInstanceVolumes(tx: Db, instanceId: string): Promise<void> {
	await tx
		.update(volumes)
		.set({ status: "available", instanceId: null, updatedAt: new Date() })
		.where(
			and(
				eq(volumes.instanceId, instanceId),
				isNull(volumes.deletedAt),
				inArray(volumes.status, ["attaching", "in_use", "detaching"]),
			),
		);
}

/** Ends the attachments of instances whose creates succeeded (attaching -> in_use): one UPDATE. */
export async function attachedToInstances(tx: Db, instanceIds: readonly string[]): Promise<void> {
	if (instanceIds.length === 0) return;
	await tx
		.update(volumes)
		.set({ status: "in_use", updatedAt: new Date() })
		.where(
			and(
				sql`${volumes.instanceId} = any(${sql.param(instanceIds)}::uuid[])`,
				isNull(volumes.deletedAt),
				eq(volumes.status, "attaching"),
			),
		);
}
