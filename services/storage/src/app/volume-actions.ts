import type { Db, InstanceStatus, VolumeStatus } from "@igoudar/db";
import { type OperationView, presentOperation } from "@igoudar/jobs";
import { type Ctx, idempotentResult, problems, withDb } from "@igoudar/kit";
import { lockInstanceForAttach } from "../db/attachments";
import { growPoolSpace } from "../db/pools";
import { findVolume, lockTenantVolume, snapshotInProgress, transitionVolume } from "../db/volumes";
import type { StorageDeps } from "../deps";
import { claimStorageQuota } from "./claims";
import { claimStorageSlot, openStorageOperation } from "./operations";

/** A resize keeps the volume's attachment: the saga restores `in_use` or `available` after it. */
const RESIZABLE: readonly VolumeStatus[] = ["available", "in_use"];
/** Instances a volume may be attached to: up, or stopped and keeping their disks. */
const ATTACHABLE_INSTANCE: readonly InstanceStatus[] = ["running", "stopped"];

/**
 * Grows a volume. Under the volume's row lock: the size check, then the difference claimed on
 * the tenant's quota (422) and on the pool the volume already uses (503), and the new size written
 * with status `resizing`, all before the 202. A failed resize gives back exactly the difference
 * (its job carries both sizes).
 */
export async function volumeResize(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	id: string,
	input: { size_gib: number },
): Promise<{ operation: OperationView }> {
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		await claimStorageSlot(db, deps, tenantId);
		const volume = await lockTenantVolume(db, tenantId, id, "update");
		if (!volume) throw problems.notFound("volume");
		if (input.size_gib <= volume.sizeGib) {
			throw problems.validation(`A volume only grows: it has ${volume.sizeGib} GiB, asked for ${input.size_gib}.`, [
				{ field: "body/size_gib", message: "must be larger than the current size" },
			]);
		}
		if (!RESIZABLE.includes(volume.status) || !volume.poolId) {
			throw problems.invalidState(
				`Cannot resize a volume that is ${volume.status}; allowed from: ${RESIZABLE.join(", ")}.`,
			);
		}
		if (await snapshotInProgress(db, id)) {
			throw problems.invalidState("A snapshot of the volume is being taken; resize it once the snapshot is available.");
		}
		const growth = input.size_gib - volume.sizeGib;
		// A resize changes only the GiB a volume charges, never its count.
		await claimStorageQuota(db, tenantId, { volume_gib: growth });
		if (!(await growPoolSpace(db, volume.poolId, growth))) {
			throw problems.noCapacity(`The volume's storage pool has no room for ${growth} more GiB.`);
		}
		await transitionVolume(db, id, RESIZABLE, "resizing", { sizeGib: input.size_gib });
		const operation = await openStorageOperation(ctx, tx, {
			tenantId,
			job: "volume.resize",
			targetId: id,
			payload: { volume_id: id, from_size_gib: volume.sizeGib, to_size_gib: input.size_gib },
			detail: { from_size_gib: volume.sizeGib, to_size_gib: input.size_gib },
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(operation) });
	});
	deps.afterCommit();
	return accepted;
}

/**
 * Attaches an available volume to an instance of the same tenant in the same zone. The instance
 * row is locked FOR SHARE first (an instance delete or action waits, then finds the volume), then
 * the operation slot is taken, then the volume moves `available -> attaching` with its `instance_id` in one conditional UPDATE: of
 * two parallel attaches exactly one matches, the other answers 409.
 */
export async function volumeAttach(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	id: string,
	input: { instance_id: string },
): Promise<{ operation: OperationView }> {
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		const volume = await findVolume(db, tenantId, id);
		if (!volume) throw problems.notFound("volume");
		const instance = await lockInstanceForAttach(db, tenantId, input.instance_id);
		if (!instance) throw problems.notFound("instance");
		// After the instance, before the volume: see claimStorageSlot.
		await claimStorageSlot(db, deps, tenantId);
		// A pairing that can never work is a mistake in the request, not a state to wait out.
		if (!volume.zoneId || instance.zoneId !== volume.zoneId) {
			throw problems.validation("A volume attaches only to an instance in its own zone.", [
				{ field: "body/instance_id", message: `not in zone ${volume.zoneName ?? "(gone)"}` },
			]);
		}
		if (!ATTACHABLE_INSTANCE.includes(instance.status)) {
			throw problems.invalidState(
				`The instance is ${instance.status}; volumes attach to instances that are ${ATTACHABLE_INSTANCE.join(" or ")}.`,
			);
		}
		const moved = await transitionVolume(db, id, ["available"], "attaching", { instanceId: instance.id });
		if (!moved) {
			const now = await findVolume(db, tenantId, id);
			throw problems.invalidState(
				`Cannot attach a volume that is ${now?.status ?? "gone"}${now?.instanceId ? ` (on instance ${now.instanceId})` : ""}; allowed from: available.`,
			);
		}
		const operation = await openStorageOperation(ctx, tx, {
			tenantId,
			job: "volume.attach",
			targetId: id,
			payload: { volume_id: id },
			detail: { instance_id: instance.id },
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(operation) });
	});
	deps.afterCommit();
	return accepted;
}

/** Detaches a volume in use; it keeps its `instance_id` until the saga has detached it. */
export async function volumeDetach(
	ctx: Ctx,
	deps: StorageDeps,
	tenantId: string,
	id: string,
): Promise<{ operation: OperationView }> {
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		await claimStorageSlot(db, deps, tenantId);
		const volume = await findVolume(db, tenantId, id);
		if (!volume) throw problems.notFound("volume");
		const moved = await transitionVolume(db, id, ["in_use"], "detaching");
		if (!moved) {
			const now = await findVolume(db, tenantId, id);
			throw problems.invalidState(`Cannot detach a volume that is ${now?.status ?? "gone"}; allowed from: in_use.`);
		}
		const operation = await openStorageOperation(ctx, tx, {
			tenantId,
			job: "volume.detach",
			targetId: id,
			payload: { volume_id: id },
			detail: { instance_id: moved.instanceId },
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(operation) });
	});
	deps.afterCommit();
	return accepted;
}
