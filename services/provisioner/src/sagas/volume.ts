import type { Db, VolumeStatus } from "@igoudar/db";
import type { JobPayload, Saga, SagaContext } from "@igoudar/jobs";
import { defineSaga, PermanentJobError } from "@igoudar/jobs";
import {
	findPoolById,
	findVolumeById,
	releaseVolumeClaims,
	revertVolumeResize,
	type storageJobs,
	transitionVolume,
} from "@igoudar/storage";
import type { StorageDriver, StorageDrivers } from "../drivers/storage-driver";
import { driverFault, REFUSALS } from "./common";

/**
 * The volume sagas. The request has already claimed what the volume charges and moved it to a
 * transitional status; the saga makes the data plane agree, and the transaction that ends the
 * operation settles the status (and, for a failed create or a delete, gives the claims back).
 * Each first step reads the volume: a job for a volume that is no longer in the status it was
 * queued for does nothing, and nothing is undone or released on its behalf.
 */

export type VolumePayload = JobPayload<(typeof storageJobs)["volume.create"]>;
export type ResizePayload = JobPayload<(typeof storageJobs)["volume.resize"]>;

export interface VolumeSagaData extends Record<string, unknown> {
	skipped: boolean;
	poolId: string;
}

type VolumeCtx = SagaContext<VolumePayload, VolumeSagaData>;
export type VolumeSaga = Saga<VolumePayload, VolumeSagaData>;

/** The driver of the pool a volume or snapshot lives on. */
export async function storageDriverFor(db: Db, drivers: StorageDrivers, poolId: string): Promise<StorageDriver> {
	const pool = await findPoolById(db, poolId);
	const driver = pool ? drivers[pool.driver] : undefined;
	if (!driver) throw new PermanentJobError("internal", "The storage pool's driver is not available.");
	return driver;
}

/** Calls a storage driver, translating its faults as compute's `drive` does. */
export async function driveStorage(
	ctx: SagaContext<unknown, Record<string, unknown>>,
	action: keyof typeof REFUSALS,
	call: () => Promise<void>,
): Promise<void> {
	try {
		await call();
	} catch (error) {
		throw driverFault(error, REFUSALS[action] ?? "The storage pool refused the change.", ctx.logger, action);
	}
}

/** The live volume if it is in `expected`, else undefined (nothing to do). */
async function liveVolumeIn(ctx: VolumeCtx, expected: readonly VolumeStatus[]) {
	const row = await findVolumeById(ctx.db, ctx.payload.volume_id);
	if (row && row.deletedAt === null && expected.includes(row.status)) return row;
	ctx.logger.warn(
		{ volumeId: ctx.payload.volume_id, status: row?.status },
		"volume is not in the state this job expects",
	);
	return undefined;
}

/** As `liveVolumeIn`, for a volume that must also hold its pool. */
async function volumeIn(ctx: VolumeCtx, expected: readonly VolumeStatus[]) {
	const row = await liveVolumeIn(ctx, expected);
	return row?.poolId ? { ...row, poolId: row.poolId } : undefined;
}

function settle(to: VolumeStatus, from: VolumeStatus[]) {
	return async (ctx: VolumeCtx, tx: Db) => {
		if (ctx.data.skipped) return;
		if (await transitionVolume(tx, ctx.payload.volume_id, from, to)) return;
		throw new PermanentJobError("conflict", "The volume changed state while the operation ran.");
	};
}

export function volumeCreateSaga(drivers: StorageDrivers): VolumeSaga {
	return defineSaga({
		name: "volume.create",
		steps: [
			{
				name: "provision_volume",
				async do(ctx) {
					const row = await volumeIn(ctx, ["creating"]);
					if (!row) return { skipped: true };
					const driver = await storageDriverFor(ctx.db, drivers, row.poolId);
					const spec = { volumeId: row.id, poolId: row.poolId, sizeGib: row.sizeGib };
					const source = row.sourceSnapshotId;
					await (source
						? driveStorage(ctx, "restoreVolume", () => driver.restoreVolume(spec, source, ctx.effect))
						: driveStorage(ctx, "createVolume", () => driver.createVolume(spec, ctx.effect)));
					return { skipped: false, poolId: row.poolId };
				},
				async undo(ctx) {
					if (ctx.data.skipped) return;
					// Also when `do` failed half-way: the pool is on the row until the claims are released.
					const poolId = ctx.data.poolId ?? (await findVolumeById(ctx.db, ctx.payload.volume_id))?.poolId;
					if (!poolId) return;
					const driver = await storageDriverFor(ctx.db, drivers, poolId);
					await driveStorage(ctx, "deleteVolume", () => driver.deleteVolume(ctx.payload.volume_id, ctx.effect));
				},
			},
		],
		onSucceeded: settle("available", ["creating"]),
		async onFailed(ctx, _problem, tx) {
			if (!ctx.data.skipped) await releaseVolumeClaims(tx, ctx.payload.volume_id, "fail");
		},
		async onAbandoned(ctx, _problem, tx) {
			if (!ctx.data.skipped) await transitionVolume(tx, ctx.payload.volume_id, ["creating"], "failed");
		},
	});
}

/** volume.delete: settles a create or resize it cancelled, then removes the volume, then releases. */
export function volumeDeleteSaga(drivers: StorageDrivers): VolumeSaga {
	return defineSaga({
		name: "volume.delete",
		settlesEarlierOperations: true,
		steps: [
			{
				name: "delete_volume",
				async do(ctx) {
					const row = await liveVolumeIn(ctx, ["deleting"]);
					if (!row) return { skipped: true };
					// No pool: a create this delete cancelled was rolled back, its volume removed already.
					const poolId = row.poolId;
					if (!poolId) return { skipped: false };
					const driver = await storageDriverFor(ctx.db, drivers, poolId);
					await driveStorage(ctx, "deleteVolume", () => driver.deleteVolume(row.id, ctx.effect));
					return { skipped: false, poolId };
				},
				// A removed volume cannot be brought back; `onFailed` marks it failed instead.
				async undo() {},
			},
		],
		async onSucceeded(ctx, tx) {
			if (!ctx.data.skipped) await releaseVolumeClaims(tx, ctx.payload.volume_id, "delete");
		},
		async onFailed(ctx, _problem, tx) {
			if (!ctx.data.skipped) await transitionVolume(tx, ctx.payload.volume_id, ["deleting"], "failed");
		},
	});
}

/** volume.attach: the request set `attaching` and the instance; the data plane follows. */
export function volumeAttachSaga(drivers: StorageDrivers): VolumeSaga {
	return defineSaga({
		name: "volume.attach",
		steps: [
			{
				name: "attach_volume",
				async do(ctx) {
					const row = await volumeIn(ctx, ["attaching"]);
					const instanceId = row?.instanceId;
					if (!row || !instanceId) return { skipped: true };
					const driver = await storageDriverFor(ctx.db, drivers, row.poolId);
					await driveStorage(ctx, "attachVolume", () => driver.attachVolume(row.id, instanceId, ctx.effect));
					return { skipped: false, poolId: row.poolId };
				},
				async undo(ctx) {
					if (ctx.data.skipped) return;
					const poolId = ctx.data.poolId ?? (await findVolumeById(ctx.db, ctx.payload.volume_id))?.poolId;
					if (!poolId) return;
					const driver = await storageDriverFor(ctx.db, drivers, poolId);
					await driveStorage(ctx, "detachVolume", () => driver.detachVolume(ctx.payload.volume_id, ctx.effect));
				},
			},
		],
		onSucceeded: settle("in_use", ["attaching"]),
		async onFailed(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			await transitionVolume(tx, ctx.payload.volume_id, ["attaching"], "available", { instanceId: null });
		},
	});
}

/** volume.detach: the request set `detaching`; once the data plane agrees, it is attached to nothing. */
export function volumeDetachSaga(drivers: StorageDrivers): VolumeSaga {
	return defineSaga({
		name: "volume.detach",
		steps: [
			{
				name: "detach_volume",
				async do(ctx) {
					const row = await volumeIn(ctx, ["detaching"]);
					if (!row) return { skipped: true };
					const driver = await storageDriverFor(ctx.db, drivers, row.poolId);
					await driveStorage(ctx, "detachVolume", () => driver.detachVolume(row.id, ctx.effect));
					return { skipped: false, poolId: row.poolId };
				},
				// Attaching again would be a new request, not an undo; a failed detach stays attached.
				async undo() {},
			},
		],
		async onSucceeded(ctx, tx) {
			if (ctx.data.skipped) return;
			if (await transitionVolume(tx, ctx.payload.volume_id, ["detaching"], "available", { instanceId: null })) return;
			throw new PermanentJobError("conflict", "The volume changed state while the operation ran.");
		},
		async onFailed(ctx, _problem, tx) {
			if (!ctx.data.skipped) await transitionVolume(tx, ctx.payload.volume_id, ["detaching"], "in_use");
		},
	});
}

/**
 * volume.resize: the request claimed the difference and set the new size; the data plane grows
 * the volume. A failed resize gives back the difference and the old size (a grown file stays
 * larger, which nothing reads beyond the recorded size).
 */
export function volumeResizeSaga(drivers: StorageDrivers): Saga<ResizePayload, VolumeSagaData> {
	return defineSaga<ResizePayload, VolumeSagaData>({
		name: "volume.resize",
		steps: [
			{
				name: "grow_volume",
				async do(ctx) {
					const row = await findVolumeById(ctx.db, ctx.payload.volume_id);
					if (!row?.poolId || row.deletedAt || row.status !== "resizing" || row.sizeGib !== ctx.payload.to_size_gib) {
						return { skipped: true };
					}
					const poolId = row.poolId;
					const driver = await storageDriverFor(ctx.db, drivers, poolId);
					await driveStorage(ctx, "growVolume", () => driver.growVolume(row.id, ctx.payload.to_size_gib, ctx.effect));
					return { skipped: false, poolId };
				},
				async undo() {},
			},
		],
		async onSucceeded(ctx, tx) {
			if (ctx.data.skipped) return;
			const row = await findVolumeById(tx, ctx.payload.volume_id);
			const to = row?.instanceId ? "in_use" : "available";
			if (await transitionVolume(tx, ctx.payload.volume_id, ["resizing"], to)) return;
			throw new PermanentJobError("conflict", "The volume changed state while it was being resized.");
		},
		async onFailed(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			await revertVolumeResize(tx, ctx.payload.volume_id, ctx.payload.from_size_gib, ctx.payload.to_size_gib);
		},
	});
}
