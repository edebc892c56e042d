import { findZoneByRef, lockTenantForPlacement } from "@igoudar/compute";
import { type Db, isForeignKeyViolation, isUniqueViolation, type VolumeStatus } from "@igoudar/db";
import { cancelOpenOperations, type OperationView, presentOperation } from "@igoudar/jobs";
import { type Ctx, idempotentResult, type PageRequest, problems, toPage, withDb } from "@igoudar/kit";
import { lockTenantSnapshot } from "../db/snapshots";
import {
	findVolume,
	insertVolume,
	listVolumes,
	lockTenantVolume,
	snapshotInProgress,
	transitionVolume,
	type VolumeRecord,
} from "../db/volumes";
import type { StorageDeps } from "../deps";
import { claimStorageQuota, volumeQuota } from "./claims";
import { claimStorageSlot, openStorageOperation } from "./operations";
import { allowedZone, claimPoolFor, knownStorageClass, noPoolRoom, type PoolTarget } from "./placement";

export interface VolumeView {
	id: string;
	name: string;
	size_gib: number;
	zone: string | null;
	storage_class: string;
	status: VolumeStatus;
	instance_id: string | null;
	source_snapshot_id: string | null;
	created_at: string;
	updated_at: string;
}

export function presentVolume(row: VolumeRecord): VolumeView {
	return {
		id: row.id,
		name: row.name,
		size_gib: row.sizeGib,
		zone: row.zoneName,
		storage_class: row.storageClass,
		status: row.status,
		instance_id: row.instanceId,
		source_snapshot_id: row.sourceSnapshotId,
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

export interface VolumeCreate {
	name: string;
	size_gib: number;
	/** Zone name or id. */
	zone?: string;
	storage_class?: string;
	/** Restore: the new volume is a copy of this snapshot. */
	snapshot_id?: string;
}

type Placement = PoolTarget & { zoneName?: string };

/** A new, empty volume: the zone and class asked for, else any the tenant's residency allows. */
async function newVolumePlacement(db: Db, residency: string[] | null, input: VolumeCreate): Promise<Placement> {
	const zone = input.zone ? await allowedZone(db, input.zone, residency) : undefined;
	if (input.storage_class) await knownStorageClass(db, input.storage_class);
	return { zoneId: zone?.id, zoneName: zone?.name, storageClass: input.storage_class, jurisdictions: residency };
}

/**
 * A restore goes where its snapshot is: the snapshot's zone and class (a request naming others is
 * refused rather than silently overridden), and only if that zone is still inside the tenant's
 * residency. The snapshot stays locked FOR SHARE until commit, so it cannot start being deleted
 * before the restored volume, which its delete then waits for, exists.
 */
async function restorePlacement(
	db: Db,
	tenantId: string,
	residency: string[] | null,
	input: VolumeCreate & { snapshot_id: string },
): Promise<Placement> {
	const snapshot = await lockTenantSnapshot(db, tenantId, input.snapshot_id, "share");
	if (!snapshot) throw problems.notFound("snapshot");
	if (snapshot.status !== "available") {
		throw problems.invalidState(`The snapshot is ${snapshot.status}; volumes are restored from available snapshots.`);
	}
	if (input.size_gib < snapshot.sizeGib) {
		throw problems.validation(`A volume restored from this snapshot needs at least ${snapshot.sizeGib} GiB.`, [
			{ field: "body/size_gib", message: "smaller than the snapshot" },
		]);
	}
	const zone = snapshot.zoneId ? await findZoneByRef(db, snapshot.zoneId) : undefined;
	if (!zone) throw problems.invalidState("The snapshot's zone no longer exists.");
	if (residency && !residency.includes(zone.jurisdiction)) {
		throw problems.validation(
			`The snapshot is in zone ${zone.name} (${zone.jurisdiction}), outside the tenant's data residency (${residency.join(", ")}).`,
			[{ field: "body/snapshot_id", message: "outside data residency" }],
		);
	}
	if (input.zone && (await allowedZone(db, input.zone, residency)).id !== zone.id) {
		throw problems.validation(`A volume is restored in its snapshot's zone, ${zone.name}.`, [
			{ field: "body/zone", message: "not the snapshot's zone" },
		]);
	}
	if (input.storage_class && input.storage_class !== snapshot.storageClass) {
		throw problems.validation(`A volume is restored in its snapshot's class, ${snapshot.storageClass}.`, [
			{ field: "body/storage_class", message: "not the snapshot's class" },
		]);
	}
	return { zoneId: zone.id, zoneName: zone.name, storageClass: snapshot.storageClass, jurisdictions: residency };
}

/**
 * One transaction, locks in the order every storage write takes them: the tenant's operation slot,
 * the tenant (FOR KEY SHARE, so a tenant delete waits for the volume and then sees it), the
 * snapshot of a restore, the quota rows, then one pool row. Any refusal rolls all of it back, so a
 * 422 or 503 leaves nothing claimed.
 */
export async function volumeCreate(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	input: VolumeCreate,
): Promise<{ volume: VolumeView; operation: OperationView }> {
	let created: { volume: VolumeView; operation: OperationView };
	try {
		created = await ctx.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			// First, before any lock (see claimStorageSlot): a tenant at its cap is refused for nothing.
			await claimStorageSlot(db, deps, tenantId);
			const tenant = await lockTenantForPlacement(db, tenantId);
			if (!tenant) throw problems.notFound("tenant");
			const snapshotId = input.snapshot_id;
			const placement = snapshotId
				? await restorePlacement(db, tenantId, tenant.dataResidency, { ...input, snapshot_id: snapshotId })
				: await newVolumePlacement(db, tenant.dataResidency, input);
			await claimStorageQuota(db, tenantId, volumeQuota(input.size_gib));
			const pool = await claimPoolFor(db, input.size_gib, placement);
			if (!pool) throw noPoolRoom(input.size_gib, { zone: placement.zoneName, storageClass: placement.storageClass });
			const volume = await insertVolume(db, {
				tenantId,
				name: input.name,
				sizeGib: input.size_gib,
				zoneId: pool.zoneId,
				storageClass: pool.storageClass,
				poolId: pool.id,
				status: "creating",
				sourceSnapshotId: snapshotId ?? null,
			});
			const operation = await openStorageOperation(ctx, tx, {
				tenantId,
				job: "volume.create",
				targetId: volume.id,
				payload: { volume_id: volume.id },
				detail: { size_gib: input.size_gib, pool_id: pool.id, source_snapshot_id: snapshotId ?? null },
			});
			const record = await findVolume(db, tenantId, volume.id);
			if (!record) throw problems.internal();
			return idempotentResult(withDb(ctx, db), 202, {
				volume: presentVolume(record),
				operation: presentOperation(operation),
			});
		});
	} catch (error) {
		if (isUniqueViolation(error, "volumes_tenant_name_key")) {
			throw problems.conflict(`A volume named ${input.name} exists in this tenant.`);
		}
		// The zone or pool was removed by a concurrent delete.
		if (isForeignKeyViolation(error)) throw problems.conflict("A resource this volume refers to was just deleted.");
		throw error;
	}
	deps.afterCommit();
	return created;
}

export interface VolumeFilter {
	status?: VolumeStatus;
	/** Zone name or id. */
	zone?: string;
	instance_id?: string;
}

export async function volumeList(ctx: Ctx, tenantId: string, page: PageRequest, filter: VolumeFilter) {
	let zoneId: string | undefined;
	if (filter.zone !== undefined) {
		const zone = await findZoneByRef(ctx.db, filter.zone);
		// An unknown zone holds no volumes: an empty page, as for any other filter that matches nothing.
		if (!zone) return { items: [], next_page_token: null };
		zoneId = zone.id;
	}
	const rows = await listVolumes(ctx.db, tenantId, page, {
		status: filter.status,
		zoneId,
		instanceId: filter.instance_id,
	});
	return toPage(rows, page, presentVolume);
}

export async function volumeGet(ctx: Ctx, tenantId: string, id: string): Promise<VolumeView> {
	const row = await findVolume(ctx.db, tenantId, id);
	if (!row) throw problems.notFound("volume");
	return presentVolume(row);
}

/** Statuses in which a volume is, or is becoming or ceasing to be, attached to an instance. */
const ATTACHED: readonly VolumeStatus[] = ["attaching", "in_use", "detaching"];
/**
 * What a delete starts from. A create or resize still open is cancelled and compensated by the
 * delete's saga first, so a volume stuck creating never leaves the tenant without a way out.
 */
const DELETABLE: readonly VolumeStatus[] = ["creating", "available", "resizing", "failed"];

/**
 * Deletes a volume that is not attached. Its snapshots are full copies and stay (they keep their
 * own quota and pool space); only a snapshot still being taken holds the delete back, since it
 * copies from the volume.
 */
export async function volumeDelete(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	id: string,
): Promise<{ operation: OperationView }> {
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		const volume = await lockTenantVolume(db, tenantId, id, "update");
		if (!volume) throw problems.notFound("volume");
		if (volume.instanceId || ATTACHED.includes(volume.status)) {
			throw problems.invalidState(
				`The volume is ${volume.status}, attached to instance ${volume.instanceId ?? "(none)"}; detach it first.`,
			);
		}
		if (!DELETABLE.includes(volume.status)) {
			throw problems.invalidState(`Cannot delete a volume that is ${volume.status}.`);
		}
		if (await snapshotInProgress(db, id)) {
			throw problems.invalidState("A snapshot of the volume is being taken; delete the volume once it is available.");
		}
		await transitionVolume(db, id, DELETABLE, "deleting");
		// No operation slot: a delete is the way back under the cap, and a volume has one at a time.
		// After the volume row lock: a run of the open create or resize is superseded at its next
		// write, and whichever run takes it next compensates it.
		const cancelled = await cancelOpenOperations(db, id, `The volume was deleted while it was ${volume.status}.`);
		const operation = await openStorageOperation(ctx, tx, {
			tenantId,
			job: "volume.delete",
			targetId: id,
			payload: { volume_id: id },
			...(cancelled.length > 0 ? { detail: { cancelled_operations: cancelled } } : {}),
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(operation) });
	});
	deps.afterCommit();
	return accepted;
}
