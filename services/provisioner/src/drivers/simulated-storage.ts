import { type Db, simStorageLedger, simVolumes } from "@igoudar/db";
import { and, eq } from "drizzle-orm";
import { admitFence, type SimulationOptions, simulateCall } from "./data-plane";
import { type DriverCall, PermanentDriverError } from "./driver";
import type { StorageAction, StorageDriver, VolumeSpec } from "./storage-driver";

/**
 * Block storage made of Postgres rows, as the simulated compute driver is: volumes and snapshots
 * in `sim_volumes` (with what a volume is attached to), every effect in `sim_storage_ledger` with
 * its idempotency key, faults from rates or `sim_faults` rows (action names as in
 * `StorageDriver`, the resource id in `instance_id`). Each call admits its fence, checks its key
 * and has its effect in one transaction.
 */
export class SimulatedStorageDriver implements StorageDriver {
	readonly name = "simulated";

	constructor(
		private readonly db: Db,
		private readonly options: SimulationOptions<StorageAction> = {},
	) {}

	private async call(
		action: StorageAction,
		resourceId: string,
		call: DriverCall,
		effect: (tx: Db, record: (what: string) => Promise<boolean>) => Promise<void>,
	): Promise<void> {
		await simulateCall(this.db, this.options, action, resourceId);
		await this.db.transaction(async (transaction) => {
			const tx = transaction as unknown as Db;
			await admitFence(tx, resourceId, call);
			// Records the effect under the call's key; false when this key already had it.
			const record = async (what: string) => {
				const inserted = await tx
					.insert(simStorageLedger)
					.values({
						resourceId,
						effect: what,
						// One step may act on several volumes (an instance's attachments): key per resource.
						idempotencyKey: `${call.idempotencyKey}#${resourceId}#${what}`,
						fence: call.fence,
					})
					.onConflictDoNothing()
					.returning({ seq: simStorageLedger.seq });
				return inserted.length === 1;
			};
			await effect(tx, record);
		});
	}

	private async find(tx: Db, resourceId: string) {
		const [row] = await tx.select().from(simVolumes).where(eq(simVolumes.resourceId, resourceId)).for("update");
		return row;
	}

	createVolume(spec: VolumeSpec, call: DriverCall): Promise<void> {
		return this.call("createVolume", spec.volumeId, call, async (tx, record) => {
			if (await this.find(tx, spec.volumeId)) return;
			if (!(await record("create"))) return;
			await tx
				.insert(simVolumes)
				.values({ resourceId: spec.volumeId, kind: "volume", poolId: spec.poolId, sizeGib: spec.sizeGib });
		});
	}

	restoreVolume(spec: VolumeSpec, snapshotId: string, call: DriverCall): Promise<void> {
		return this.call("restoreVolume", spec.volumeId, call, async (tx, record) => {
			if (await this.find(tx, spec.volumeId)) return;
			const [snapshot] = await tx
				.select()
				.from(simVolumes)
				.where(and(eq(simVolumes.resourceId, snapshotId), eq(simVolumes.kind, "snapshot")));
			if (!snapshot) throw new PermanentDriverError(`no snapshot ${snapshotId} to restore`, "not_found");
			if (!(await record("restore"))) return;
			await tx.insert(simVolumes).values({
				resourceId: spec.volumeId,
				kind: "volume",
				poolId: spec.poolId,
				sizeGib: Math.max(spec.sizeGib, snapshot.sizeGib),
			});
		});
	}

	deleteVolume(volumeId: string, call: DriverCall): Promise<void> {
		return this.call("deleteVolume", volumeId, call, async (tx, record) => {
			if (!(await this.find(tx, volumeId))) return;
			if (!(await record("delete"))) return;
			await tx.delete(simVolumes).where(eq(simVolumes.resourceId, volumeId));
		});
	}

	growVolume(volumeId: string, sizeGib: number, call: DriverCall): Promise<void> {
		return this.call("growVolume", volumeId, call, async (tx, record) => {
			const volume = await this.find(tx, volumeId);
			if (!volume) throw new PermanentDriverError(`no volume ${volumeId}`, "not_found");
			if (volume.sizeGib >= sizeGib || !(await record("grow"))) return;
			await tx.update(simVolumes).set({ sizeGib, updatedAt: new Date() }).where(eq(simVolumes.resourceId, volumeId));
		});
	}

	attachVolume(volumeId: string, instanceId: string, call: DriverCall): Promise<void> {
		return this.call("attachVolume", volumeId, call, async (tx, record) => {
			const volume = await this.find(tx, volumeId);
			if (!volume) throw new PermanentDriverError(`no volume ${volumeId}`, "not_found");
			if (volume.attachedTo === instanceId) return;
			if (volume.attachedTo !== null) {
				throw new PermanentDriverError(`volume ${volumeId} is attached to ${volume.attachedTo}`, "conflict");
			}
			if (!(await record("attach"))) return;
			await tx
				.update(simVolumes)
				.set({ attachedTo: instanceId, updatedAt: new Date() })
				.where(eq(simVolumes.resourceId, volumeId));
		});
	}

	detachVolume(volumeId: string, call: DriverCall): Promise<void> {
		return this.call("detachVolume", volumeId, call, async (tx, record) => {
			const volume = await this.find(tx, volumeId);
			if (!volume || volume.attachedTo === null || !(await record("detach"))) return;
			await tx
				.update(simVolumes)
				.set({ attachedTo: null, updatedAt: new Date() })
				.where(eq(simVolumes.resourceId, volumeId));
		});
	}

	createSnapshot(snapshotId: string, volumeId: string, poolId: string, call: DriverCall): Promise<void> {
		return this.call("createSnapshot", snapshotId, call, async (tx, record) => {
			if (await this.find(tx, snapshotId)) return;
			const [volume] = await tx.select().from(simVolumes).where(eq(simVolumes.resourceId, volumeId));
			if (!volume) throw new PermanentDriverError(`no volume ${volumeId} to copy`, "not_found");
			if (!(await record("snapshot"))) return;
			await tx.insert(simVolumes).values({ resourceId: snapshotId, kind: "snapshot", poolId, sizeGib: volume.sizeGib });
		});
	}

	deleteSnapshot(snapshotId: string, call: DriverCall): Promise<void> {
		return this.call("deleteSnapshot", snapshotId, call, async (tx, record) => {
			if (!(await this.find(tx, snapshotId))) return;
			if (!(await record("delete"))) return;
			await tx.delete(simVolumes).where(eq(simVolumes.resourceId, snapshotId));
		});
	}
}
