import type { Db, SnapshotStatus } from "@igoudar/db";
import { snapshots } from "@igoudar/db";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";

export type SnapshotRow = typeof snapshots.$inferSelect;

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
