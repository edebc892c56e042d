import type { Db, VolumeStatus } from "@igoudar/db";
import { volumes } from "@igoudar/db";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";

export type VolumeRow = typeof volumes.$inferSelect;

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
