import { findZoneByRef, lockTenantForPlacement } from "@igoudar/compute";
import { type Db, isUniqueViolation, type SnapshotStatus, type VolumeStatus } from "@igoudar/db";
import { cancelOpenOperations, type OperationView, presentOperation } from "@igoudar/jobs";
import { type Ctx, idempotentResult, type PageRequest, problems, toPage, withDb } from "@igoudar/kit";
import { claimPoolSpace } from "../db/pools";
import {
	findSnapshot,
	insertSnapshot,
	listSnapshots,
	lockTenantSnapshot,
	restoreInProgress,
	type SnapshotRecord,
	transitionSnapshot,
} from "../db/snapshots";
import { lockTenantVolume } from "../db/volumes";
import type { StorageDeps } from "../deps";
import { claimStorageQuota, snapshotQuota } from "./claims";
import { claimStorageSlot, openStorageOperation } from "./operations";

export interface SnapshotView {
	id: string;
	name: string;
	volume_id: string;
	size_gib: number;
	zone: string | null;
	storage_class: string;
	status: SnapshotStatus;
	created_at: string;
	updated_at: string;
}

export function presentSnapshot(row: SnapshotRecord): SnapshotView {
	return {
		id: row.id,
		name: row.name,
		volume_id: row.volumeId,
		size_gib: row.sizeGib,
		zone: row.zoneName,
		storage_class: row.storageClass,
		status: row.status,
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

/** A snapshot copies a volume that exists and is not changing size. */
const SNAPSHOTTABLE: readonly VolumeStatus[] = ["available", "in_use"];

/**
 * Takes a snapshot of a volume onto the volume's own pool. Locks: the operation slot, the tenant
 * (FOR KEY SHARE), the volume (FOR SHARE: parallel snapshots of one volume proceed, a delete or resize of it waits),
 * the `snapshots` quota row, the pool row. A pool without room (or disabled, taking no new data)
 * answers 503 no_capacity: a snapshot never goes to another pool than its volume's.
 */
export async function snapshotCreate(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	volumeId: string,
	input: { name: string },
): Promise<{ snapshot: SnapshotView; operation: OperationView }> {
	let created: { snapshot: SnapshotView; operation: OperationView };
	try {
		created = await ctx.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			await claimStorageSlot(db, deps, tenantId);
			const tenant = await lockTenantForPlacement(db, tenantId);
			if (!tenant) throw problems.notFound("tenant");
			const volume = await lockTenantVolume(db, tenantId, volumeId, "share");
			if (!volume) throw problems.notFound("volume");
			if (!SNAPSHOTTABLE.includes(volume.status) || !volume.poolId) {
				throw problems.invalidState(
					`Cannot snapshot a volume that is ${volume.status}; allowed from: ${SNAPSHOTTABLE.join(", ")}.`,
				);
			}
			// Residency may have narrowed since the volume was made: no new copy goes outside it.
			const zone = volume.zoneId ? await findZoneByRef(db, volume.zoneId) : undefined;
			const residency = tenant.dataResidency;
			if (!zone || (residency && !residency.includes(zone.jurisdiction))) {
				throw problems.conflict(
					`The volume is in ${zone ? `zone ${zone.name} (${zone.jurisdiction})` : "a zone that no longer exists"}, outside the tenant's data residency (${residency?.join(", ") ?? "any"}): no new copy of it may be made there.`,
				);
			}
			await claimStorageQuota(db, tenantId, snapshotQuota());
			if (!(await claimPoolSpace(db, volume.poolId, volume.sizeGib))) {
				throw problems.noCapacity(`The volume's storage pool has no room for a ${volume.sizeGib} GiB snapshot.`);
			}
			const snapshot = await insertSnapshot(db, {
				tenantId,
				name: input.name,
				volumeId,
				sizeGib: volume.sizeGib,
				zoneId: volume.zoneId,
				storageClass: volume.storageClass,
				poolId: volume.poolId,
				status: "creating",
			});
			const operation = await openStorageOperation(ctx, tx, {
				tenantId,
				job: "snapshot.create",
				targetId: snapshot.id,
				payload: { snapshot_id: snapshot.id },
				detail: { volume_id: volumeId, size_gib: volume.sizeGib, pool_id: volume.poolId },
			});
			const record = await findSnapshot(db, tenantId, snapshot.id);
			if (!record) throw problems.internal();
			return idempotentResult(withDb(ctx, db), 202, {
				snapshot: presentSnapshot(record),
				operation: presentOperation(operation),
			});
		});
	} catch (error) {
		if (isUniqueViolation(error, "snapshots_tenant_name_key")) {
			throw problems.conflict(`A snapshot named ${input.name} exists in this tenant.`);
		}
		throw error;
	}
	deps.afterCommit();
	return created;
}

export async function snapshotList(ctx: Ctx, tenantId: string, page: PageRequest, filter: { volume_id?: string }) {
	const rows = await listSnapshots(ctx.db, tenantId, page, { volumeId: filter.volume_id });
	return toPage(rows, page, presentSnapshot);
}

export async function snapshotGet(ctx: Ctx, tenantId: string, id: string): Promise<SnapshotView> {
	const row = await findSnapshot(ctx.db, tenantId, id);
	if (!row) throw problems.notFound("snapshot");
	return presentSnapshot(row);
}

/** What a delete starts from; a create still open is cancelled and compensated first. */
const DELETABLE: readonly SnapshotStatus[] = ["creating", "available", "failed"];

/**
 * Deletes a snapshot, whatever became of its volume. Only a volume still being restored from it
 * holds the delete back, since that restore copies from it.
 */
export async function snapshotDelete(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	id: string,
): Promise<{ operation: OperationView }> {
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		const snapshot = await lockTenantSnapshot(db, tenantId, id, "update");
		if (!snapshot) throw problems.notFound("snapshot");
		if (!DELETABLE.includes(snapshot.status)) {
			throw problems.invalidState(`Cannot delete a snapshot that is ${snapshot.status}.`);
		}
		if (await restoreInProgress(db, id)) {
			throw problems.invalidState("A volume is being restored from this snapshot; delete it once the volume is made.");
		}
		await transitionSnapshot(db, id, DELETABLE, "deleting");
		// No operation slot: a delete is the way back under the cap, and a snapshot has one at a time.
		const cancelled = await cancelOpenOperations(db, id, `The snapshot was deleted while it was ${snapshot.status}.`);
		const operation = await openStorageOperation(ctx, tx, {
			tenantId,
			job: "snapshot.delete",
			targetId: id,
			payload: { snapshot_id: id },
			...(cancelled.length > 0 ? { detail: { cancelled_operations: cancelled } } : {}),
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(operation) });
	});
	deps.afterCommit();
	return accepted;
}
