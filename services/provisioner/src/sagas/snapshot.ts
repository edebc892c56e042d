import type { Db, SnapshotStatus } from "@igoudar/db";
import type { JobPayload, Saga, SagaContext } from "@igoudar/jobs";
import { defineSaga, PermanentJobError } from "@igoudar/jobs";
import { findSnapshotById, releaseSnapshotClaims, type storageJobs, transitionSnapshot } from "@igoudar/storage";
import type { StorageDrivers } from "../drivers/storage-driver";
import { driveStorage, storageDriverFor } from "./volume";

/**
 * The snapshot sagas: the request claimed the snapshot's quota and its space on the volume's pool
 * and wrote it `creating` (or moved it to `deleting`); the saga copies (or removes) the data, and
 * the transaction that ends the operation settles the status and, on a failed create or a
 * delete, gives the claims back.
 */

export type SnapshotPayload = JobPayload<(typeof storageJobs)["snapshot.create"]>;

export interface SnapshotSagaData extends Record<string, unknown> {
	skipped: boolean;
	poolId: string;
}

type SnapshotCtx = SagaContext<SnapshotPayload, SnapshotSagaData>;
export type SnapshotSaga = Saga<SnapshotPayload, SnapshotSagaData>;

async function snapshotIn(ctx: SnapshotCtx, expected: readonly SnapshotStatus[]) {
	const row = await findSnapshotById(ctx.db, ctx.payload.snapshot_id);
	if (row && row.deletedAt === null && expected.includes(row.status)) return row;
	ctx.logger.warn(
		{ snapshotId: ctx.payload.snapshot_id, status: row?.status },
		"snapshot is not in the expected state",
	);
	return undefined;
}

async function removeSnapshot(ctx: SnapshotCtx, drivers: StorageDrivers, poolId: string, db: Db) {
	const driver = await storageDriverFor(db, drivers, poolId);
	await driveStorage(ctx, "deleteSnapshot", () => driver.deleteSnapshot(ctx.payload.snapshot_id, ctx.effect));
}

export function snapshotCreateSaga(drivers: StorageDrivers): SnapshotSaga {
	return defineSaga({
		name: "snapshot.create",
		steps: [
			{
				name: "copy_volume",
				async do(ctx) {
					const row = await snapshotIn(ctx, ["creating"]);
					const poolId = row?.poolId;
					if (!row || !poolId) return { skipped: true };
					const driver = await storageDriverFor(ctx.db, drivers, poolId);
					await driveStorage(ctx, "createSnapshot", () =>
						driver.createSnapshot(row.id, row.volumeId, poolId, ctx.effect),
					);
					return { skipped: false, poolId };
				},
				async undo(ctx) {
					if (ctx.data.skipped) return;
					const poolId = ctx.data.poolId ?? (await findSnapshotById(ctx.db, ctx.payload.snapshot_id))?.poolId;
					if (poolId) await removeSnapshot(ctx, drivers, poolId, ctx.db);
				},
			},
		],
		async onSucceeded(ctx, tx) {
			if (ctx.data.skipped) return;
			if (await transitionSnapshot(tx, ctx.payload.snapshot_id, ["creating"], "available")) return;
			throw new PermanentJobError("conflict", "The snapshot changed state while it was being made.");
		},
		async onFailed(ctx, _problem, tx) {
			if (!ctx.data.skipped) await releaseSnapshotClaims(tx, ctx.payload.snapshot_id, "fail");
		},
		async onAbandoned(ctx, _problem, tx) {
			if (!ctx.data.skipped) await transitionSnapshot(tx, ctx.payload.snapshot_id, ["creating"], "failed");
		},
	});
}

export function snapshotDeleteSaga(drivers: StorageDrivers): SnapshotSaga {
	return defineSaga({
		name: "snapshot.delete",
		settlesEarlierOperations: true,
		steps: [
			{
				name: "delete_snapshot",
				async do(ctx) {
					const row = await snapshotIn(ctx, ["deleting"]);
					if (!row) return { skipped: true };
					// No pool: the create this delete cancelled was rolled back and removed it.
					if (row.poolId) await removeSnapshot(ctx, drivers, row.poolId, ctx.db);
					return row.poolId ? { skipped: false, poolId: row.poolId } : { skipped: false };
				},
				async undo() {},
			},
		],
		async onSucceeded(ctx, tx) {
			if (!ctx.data.skipped) await releaseSnapshotClaims(tx, ctx.payload.snapshot_id, "delete");
		},
		async onFailed(ctx, _problem, tx) {
			if (!ctx.data.skipped) await transitionSnapshot(tx, ctx.payload.snapshot_id, ["deleting"], "failed");
		},
	});
}
