import { mkdtempSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simVolumes } from "@igoudar/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DriverCall, StorageDriver, VolumeSpec } from "../src/index";
import { GIB, LocalStorageDriver, PermanentDriverError, SimulatedStorageDriver } from "../src/index";
import { makePool, NO_STORAGE, storageCall, storageCounters, storageLedger, volumeOf } from "./storage-support";
import type { Inventory, Member } from "./support";
import {
	BASELINE,
	counters,
	createInstance,
	getInstance,
	Harness,
	injectFault,
	makeInventory,
	makeMember,
	settled,
} from "./support";

/**
 * Volumes and snapshots through the API with the real workers and sagas: each operation ends,
 * the data plane does each thing once, an instance gets its volumes at create and gives them back
 * at delete, and afterwards nothing is held. The local driver is driven with failures right after
 * each effect, which must leave no file, no claim and no half-made row behind.
 */

/** The local driver, except that the next call of an armed action fails right after its effect. */
class FailAfter implements StorageDriver {
	readonly name = "local";
	armed = new Set<string>();
	constructor(readonly inner: LocalStorageDriver) {}
	private async after(action: string, effect: () => Promise<void>) {
		await effect();
		if (this.armed.delete(action)) throw new PermanentDriverError(`injected failure after ${action}`);
	}
	createVolume = (spec: VolumeSpec, call: DriverCall) =>
		this.after("createVolume", () => this.inner.createVolume(spec, call));
	restoreVolume = (spec: VolumeSpec, snapshotId: string, call: DriverCall) =>
		this.after("restoreVolume", () => this.inner.restoreVolume(spec, snapshotId, call));
	deleteVolume = (id: string, call: DriverCall) => this.after("deleteVolume", () => this.inner.deleteVolume(id, call));
	growVolume = (id: string, size: number, call: DriverCall) =>
		this.after("growVolume", () => this.inner.growVolume(id, size, call));
	attachVolume = (id: string, instanceId: string, call: DriverCall) =>
		this.after("attachVolume", () => this.inner.attachVolume(id, instanceId, call));
	detachVolume = (id: string, call: DriverCall) => this.after("detachVolume", () => this.inner.detachVolume(id, call));
	createSnapshot = (id: string, volumeId: string, poolId: string, call: DriverCall) =>
		this.after("createSnapshot", () => this.inner.createSnapshot(id, volumeId, poolId, call));
	deleteSnapshot = (id: string, call: DriverCall) =>
		this.after("deleteSnapshot", () => this.inner.deleteSnapshot(id, call));
}

let h: Harness;
let local: FailAfter;
let dataDir: string;
let inventory: Inventory;
let member: Member;
beforeAll(async () => {
	dataDir = mkdtempSync(join(tmpdir(), "igoudar-volumes-"));
	h = await Harness.start({}, undefined, (db) => {
		local = new FailAfter(new LocalStorageDriver(db, dataDir));
		return { simulated: new SimulatedStorageDriver(db), local };
	});
});
beforeEach(async () => {
	inventory = await makeInventory(h.db);
	member = await makeMember(h.t);
});
afterAll(async () => {
	await h?.close();
	rmSync(dataDir, { recursive: true, force: true });
});

const exists = (path: string) =>
	stat(path).then(
		(info) => info.size,
		() => undefined,
	);

describe("volumes and snapshots on the simulated data plane", () => {
	it("create, grow, snapshot, restore, attach, detach, delete: each effect once, nothing held after", async () => {
		const pool = await makePool(h.db, inventory.zone, "simulated");
		const created = await storageCall(h, member, "POST", "/volumes", {
			name: "data",
			size_gib: 10,
			zone: inventory.zone,
			storage_class: pool.storageClass,
		});
		const id = created.volume?.id ?? "";
		expect(created.operation).toMatchObject({ status: "succeeded" });
		expect((await volumeOf(h, member, id)).body).toMatchObject({ status: "available", size_gib: 10 });

		expect((await storageCall(h, member, "POST", `/volumes/${id}/resize`, { size_gib: 25 })).operation.status).toBe(
			"succeeded",
		);
		const snap = await storageCall(h, member, "POST", `/volumes/${id}/snapshots`, { name: "snap" });
		const snapshotId = snap.snapshot?.id ?? "";
		expect(snap.operation.status).toBe("succeeded");
		const restored = await storageCall(h, member, "POST", "/volumes", {
			name: "copy",
			size_gib: 30,
			snapshot_id: snapshotId,
		});
		const copyId = restored.volume?.id ?? "";
		const [copy] = await h.db.select().from(simVolumes).where(eq(simVolumes.resourceId, copyId));
		expect(copy).toMatchObject({ kind: "volume", sizeGib: 30 });
		expect(await storageCounters(h.db, member.tenantId, pool.id)).toEqual({
			quota: { volumes: 2, volume_gib: 55, snapshots: 1 },
			pool: 80,
		});

		// An instance made with the copy gets it attached, and keeps it after a detach and re-attach.
		const vm = await createInstance(h.t, member, inventory);
		await h.relay();
		await settled(h.t, member, vm.operation.id);
		await storageCall(h, member, "POST", `/volumes/${copyId}/attach`, { instance_id: vm.instance.id });
		expect((await volumeOf(h, member, copyId)).body).toMatchObject({ status: "in_use", instance_id: vm.instance.id });
		expect((await getInstance(h.t, member, vm.instance.id)).body).toMatchObject({ volume_ids: [copyId] });
		await storageCall(h, member, "POST", `/volumes/${copyId}/detach`);
		expect((await volumeOf(h, member, copyId)).body).toMatchObject({ status: "available", instance_id: null });

		await storageCall(h, member, "DELETE", `/volumes/${id}`);
		// The snapshot outlives its volume and still restores.
		expect((await storageCall(h, member, "DELETE", `/snapshots/${snapshotId}`)).operation.status).toBe("succeeded");
		await storageCall(h, member, "DELETE", `/volumes/${copyId}`);
		expect(await storageCounters(h.db, member.tenantId, pool.id)).toEqual(NO_STORAGE);
		expect(await storageLedger(h.db, id)).toEqual(["create", "grow", "delete"]);
		expect(await storageLedger(h.db, snapshotId)).toEqual(["snapshot", "delete"]);
		expect(await storageLedger(h.db, copyId)).toEqual(["restore", "attach", "detach", "delete"]);
	});

	it("an instance created with volumes attaches them; its delete detaches and keeps them", async () => {
		await makePool(h.db, inventory.zone, "simulated");
		const first = await storageCall(h, member, "POST", "/volumes", { name: "a", size_gib: 5, zone: inventory.zone });
		const second = await storageCall(h, member, "POST", "/volumes", { name: "b", size_gib: 5, zone: inventory.zone });
		const ids = [first.volume?.id ?? "", second.volume?.id ?? ""].sort();
		const res = await h.t.request<{ instance: { id: string }; operation: { id: string } }>(
			"POST",
			`/v1/tenants/${member.tenantId}/instances`,
			{ token: member.token, body: { name: "vm-with-disks", flavor: inventory.flavor, volume_ids: ids } },
		);
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		await h.relay();
		expect(await settled(h.t, member, res.body.operation.id)).toMatchObject({ status: "succeeded" });
		expect((await getInstance(h.t, member, res.body.instance.id)).body).toMatchObject({ volume_ids: ids });
		for (const id of ids) expect((await volumeOf(h, member, id)).body.status).toBe("in_use");

		const removal = await h.t.request<{ operation: { id: string } }>(
			"DELETE",
			`/v1/tenants/${member.tenantId}/instances/${res.body.instance.id}`,
			{ token: member.token },
		);
		await h.relay();
		expect(await settled(h.t, member, removal.body.operation.id)).toMatchObject({ status: "succeeded" });
		for (const id of ids) {
			expect((await volumeOf(h, member, id)).body).toMatchObject({ status: "available", instance_id: null });
			expect(await storageLedger(h.db, id)).toEqual(["create", "attach", "detach"]);
		}
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
	});

	it("a failed instance create gives its volumes back, detached", async () => {
		await makePool(h.db, inventory.zone, "simulated");
		const volume = await storageCall(h, member, "POST", "/volumes", { name: "c", size_gib: 5, zone: inventory.zone });
		const id = volume.volume?.id ?? "";
		const res = await h.t.request<{ instance: { id: string }; operation: { id: string } }>(
			"POST",
			`/v1/tenants/${member.tenantId}/instances`,
			{ token: member.token, body: { name: "doomed", flavor: inventory.flavor, volume_ids: [id] } },
		);
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		await injectFault(h.db, res.body.instance.id, "startInstance", "permanent");
		await h.relay();
		expect(await settled(h.t, member, res.body.operation.id)).toMatchObject({ status: "failed" });
		expect((await volumeOf(h, member, id)).body).toMatchObject({ status: "available", instance_id: null });
		expect(await storageLedger(h.db, id)).toEqual(["create", "attach", "detach"]);
	});
});

describe("the local driver with a failure right after each effect", () => {
	it("a failed create, restore or snapshot leaves no file, no claim and no half-made row", async () => {
		const pool = await makePool(h.db, inventory.zone, "local");
		// Earlier tests' pools have room too: name this one's zone and class.
		const on = { zone: inventory.zone, storage_class: pool.storageClass };
		local.armed.add("createVolume");
		const failed = await storageCall(h, member, "POST", "/volumes", { name: "f1", size_gib: 3, ...on });
		const failedId = failed.volume?.id ?? "";
		expect(failed.operation).toMatchObject({ status: "failed", error: { code: "internal" } });
		expect(await exists(join(dataDir, `${failedId}.img`))).toBeUndefined();
		expect((await volumeOf(h, member, failedId)).body.status).toBe("failed");
		expect(await storageCounters(h.db, member.tenantId, pool.id)).toEqual(NO_STORAGE);

		const good = await storageCall(h, member, "POST", "/volumes", { name: "ok", size_gib: 3, ...on });
		const goodId = good.volume?.id ?? "";
		expect(await exists(join(dataDir, `${goodId}.img`))).toBe(3 * GIB);
		local.armed.add("createSnapshot");
		const snap = await storageCall(h, member, "POST", `/volumes/${goodId}/snapshots`, { name: "s1" });
		expect(snap.operation.status).toBe("failed");
		expect(await exists(join(dataDir, "snapshots", `${snap.snapshot?.id}.img`))).toBeUndefined();

		const kept = await storageCall(h, member, "POST", `/volumes/${goodId}/snapshots`, { name: "s2" });
		local.armed.add("restoreVolume");
		const restore = await storageCall(h, member, "POST", "/volumes", {
			name: "r1",
			size_gib: 4,
			snapshot_id: kept.snapshot?.id,
		});
		expect(restore.operation.status).toBe("failed");
		expect(await exists(join(dataDir, `${restore.volume?.id}.img`))).toBeUndefined();

		local.armed.add("growVolume");
		expect((await storageCall(h, member, "POST", `/volumes/${goodId}/resize`, { size_gib: 8 })).operation.status).toBe(
			"failed",
		);
		// The old size is back on the volume and in the counters; the file may be larger, never read past it.
		expect((await volumeOf(h, member, goodId)).body).toMatchObject({ status: "available", size_gib: 3 });
		expect(await storageCounters(h.db, member.tenantId, pool.id)).toEqual({
			quota: { volumes: 1, volume_gib: 3, snapshots: 1 },
			pool: 6,
		});

		// Failed ones are deleted like any other; then nothing is left at all.
		for (const path of [`/volumes/${failedId}`, `/volumes/${restore.volume?.id}`, `/snapshots/${snap.snapshot?.id}`]) {
			expect((await storageCall(h, member, "DELETE", path)).operation.status).toBe("succeeded");
		}
		await storageCall(h, member, "DELETE", `/snapshots/${kept.snapshot?.id}`);
		await storageCall(h, member, "DELETE", `/volumes/${goodId}`);
		expect(await storageCounters(h.db, member.tenantId, pool.id)).toEqual(NO_STORAGE);
		expect(await local.inner.listFiles()).toEqual({ volumes: [], snapshots: [] });
	});
});
