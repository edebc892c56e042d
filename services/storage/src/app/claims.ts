import { claimQuota, type Db, releaseQuota, volumes } from "@igoudar/db";
import { problems } from "@igoudar/kit";
import { eq } from "drizzle-orm";
import { releasePoolSpace } from "../db/pools";
import { clearSnapshotPool, lockLiveSnapshot } from "../db/snapshots";
import { clearVolumePool, lockLiveVolume } from "../db/volumes";

/**
 * What volumes and snapshots charge, defined once: the requests claim it, the sagas release it,
 * the consistency audit recounts it. A volume charges its quota and `size_gib` on its pool while
 * its `pool_id` is set; a snapshot charges `snapshots` and its `size_gib` on its pool likewise.
 */
export function volumeQuota(sizeGib: number) {
	return { volumes: 1, volume_gib: sizeGib };
}

export function snapshotQuota() {
	return { snapshots: 1 };
}

/** The quota resources storage charges, sorted as `claimQuota` sorts them (the lock order). */
export const VOLUME_QUOTA_RESOURCES = ["volume_gib", "volumes"] as const;
export const SNAPSHOT_QUOTA_RESOURCES = ["snapshots"] as const;

/** Claims quota in the caller's transaction; throws 422 quota_exceeded naming every shortfall. */
export async function claimStorageQuota(
	tx: Db,
	tenantId: string,
	amounts: Partial<Record<"volumes" | "volume_gib" | "snapshots", number>>,
): Promise<void> {
	const claim = await claimQuota(tx, tenantId, amounts);
	if (!claim.ok) {
		throw problems.quotaExceeded(
			claim.shortfalls.map((s) => ({ resource: s.resource, limit: s.limit, used: s.used, requested: s.requested })),
		);
	}
}

/**
 * Gives back everything a volume holds, exactly once (it holds while `pool_id` is set, and this
 * clears it in the same transaction): lock the volume, then the quota rows, then the pool, the
 * order every storage claim takes. `delete` retires the row; `fail` leaves it visible.
 */
export async function releaseVolumeClaims(db: Db, volumeId: string, outcome: "fail" | "delete"): Promise<boolean> {
	return db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const row = await lockLiveVolume(tx, volumeId);
		if (!row) return false;
		if (row.poolId) {
			await releaseQuota(tx, row.tenantId, volumeQuota(row.sizeGib));
			await releasePoolSpace(tx, row.poolId, row.sizeGib);
		}
		await clearVolumePool(tx, volumeId, outcome);
		return true;
	});
}

/** As `releaseVolumeClaims`, for a snapshot. */
export async function releaseSnapshotClaims(db: Db, snapshotId: string, outcome: "fail" | "delete"): Promise<boolean> {
	return db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const row = await lockLiveSnapshot(tx, snapshotId);
		if (!row) return false;
		if (row.poolId) {
			await releaseQuota(tx, row.tenantId, snapshotQuota());
			await releasePoolSpace(tx, row.poolId, row.sizeGib);
		}
		await clearSnapshotPool(tx, snapshotId, outcome);
		return true;
	});
}

/**
 * Undoes a resize that failed: gives back the difference it claimed and restores the old size, in
 * one transaction, only if the volume still has the new size (so running it twice is harmless).
 */
export async function revertVolumeResize(db: Db, volumeId: string, fromGib: number, toGib: number): Promise<void> {
	await db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const row = await lockLiveVolume(tx, volumeId);
		if (!row || row.sizeGib !== toGib) return;
		if (row.poolId) {
			await releaseQuota(tx, row.tenantId, { volume_gib: toGib - fromGib });
			await releasePoolSpace(tx, row.poolId, toGib - fromGib);
		}
		await tx
			.update(volumes)
			.set({
				sizeGib: fromGib,
				// Back to what it was before the resize: attached or not.
				status: row.status !== "resizing" ? row.status : row.instanceId ? "in_use" : "available",
				updatedAt: new Date(),
			})
			.where(eq(volumes.id, volumeId));
	});
}
