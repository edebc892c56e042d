import type { Db } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { releaseVolumeClaims } from "@igoudar/storage";
import { describe, expect, it } from "vitest";
import {
	createVolume,
	makePool,
	makeZone,
	poolAllocation,
	quotaUsed,
	recountStorage,
	setQuota,
	settleSnapshots,
	settleVolumes,
	type VolumeBody,
} from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

interface SnapshotBody {
	id: string;
	name: string;
	volume_id: string;
	size_gib: number;
	zone: string | null;
	storage_class: string;
	status: string;
	code?: string;
}

async function setup(capacityGib = 1000) {
	const zone = await makeZone(db);
	const pool = await makePool(db, zone.id, { capacityGib, storageClass: "ssd" });
	const tenant = await t.createTenant();
	const { token } = await t.principal(tenant.id, "member");
	const snapshot = (volumeId: string, name: string) =>
		t.request<{ snapshot: SnapshotBody; operation: { kind: string }; code?: string }>(
			"POST",
			`/v1/tenants/${tenant.id}/volumes/${volumeId}/snapshots`,
			{ token, body: { name } },
		);
	return { zone, pool, tenantId: tenant.id, token, snapshot };
}

describe("snapshots and restores", () => {
	it("takes a snapshot onto the volume's pool, charging the snapshots quota and the volume's size", async () => {
		const { zone, pool, tenantId, token, snapshot } = await setup();
		const v = await createVolume(t, tenantId, token, { size_gib: 30, zone: zone.name });
		expect((await snapshot(v.id, "early")).body.code).toBe("invalid_state");
		await settleVolumes(db, [v.id]);

		const res = await snapshot(v.id, "snap-1");
		expect(res.status).toBe(202);
		expect(res.body.snapshot).toMatchObject({
			name: "snap-1",
			volume_id: v.id,
			size_gib: 30,
			zone: zone.name,
			storage_class: "ssd",
			status: "creating",
		});
		expect(res.body.operation.kind).toBe("snapshot.create");
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 60, actual: 60 });
		expect(await quotaUsed(db, tenantId)).toMatchObject(await recountStorage(db, tenantId));
		expect((await quotaUsed(db, tenantId)).snapshots).toBe(1);
		expect((await snapshot(v.id, "snap-1")).status).toBe(409);

		const listed = await t.request<{ items: SnapshotBody[] }>(
			"GET",
			`/v1/tenants/${tenantId}/snapshots?volume_id=${v.id}`,
			{
				token,
			},
		);
		expect(listed.body.items.map((s) => s.id)).toEqual([res.body.snapshot.id]);
		const none = await t.request<{ items: SnapshotBody[] }>(
			"GET",
			`/v1/tenants/${tenantId}/snapshots?volume_id=${zone.id}`,
			{ token },
		);
		expect(none.body.items).toEqual([]);

		// While it is being taken, the volume can be neither deleted nor grown.
		const del = await t.request<{ code: string }>("DELETE", `/v1/tenants/${tenantId}/volumes/${v.id}`, { token });
		expect(del.status).toBe(409);
		expect(del.body.code).toBe("invalid_state");
		const grow = await t.request<{ code: string }>("POST", `/v1/tenants/${tenantId}/volumes/${v.id}/resize`, {
			token,
			body: { size_gib: 40 },
		});
		expect(grow.body.code).toBe("invalid_state");
	});

	it("refuses a snapshot the quota or the volume's pool has no room for, and gives nothing away", async () => {
		const { zone, pool, tenantId, token, snapshot } = await setup(50);
		const v = await createVolume(t, tenantId, token, { size_gib: 30, zone: zone.name });
		await settleVolumes(db, [v.id]);
		const full = await snapshot(v.id, "too-big");
		expect(full.status).toBe(503);
		expect(full.body.code).toBe("no_capacity");
		await setQuota(db, tenantId, { snapshots: 0 });
		const over = await snapshot(v.id, "over");
		expect(over.status).toBe(422);
		expect(over.body.code).toBe("quota_exceeded");
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 30, actual: 30 });
		expect(await quotaUsed(db, tenantId)).toMatchObject({ snapshots: 0, volumes: 1, volume_gib: 30 });
	});

	it("keeps snapshots when their volume is deleted, and restores from them afterwards", async () => {
		const { zone, pool, tenantId, token, snapshot } = await setup();
		const v = await createVolume(t, tenantId, token, { size_gib: 10, zone: zone.name });
		await settleVolumes(db, [v.id]);
		const snap = (await snapshot(v.id, "keep")).body.snapshot;
		await settleSnapshots(db, [snap.id]);

		const del = await t.request("DELETE", `/v1/tenants/${tenantId}/volumes/${v.id}`, { token });
		expect(del.status).toBe(202);
		// What the delete saga does at its end: the volume gives back all it held.
		await releaseVolumeClaims(db, v.id, "delete");
		expect((await t.request("GET", `/v1/tenants/${tenantId}/volumes/${v.id}`, { token })).status).toBe(404);
		const kept = await t.request<SnapshotBody>("GET", `/v1/tenants/${tenantId}/snapshots/${snap.id}`, { token });
		expect(kept.body).toMatchObject({ status: "available", volume_id: v.id, size_gib: 10 });
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 10, actual: 10 });
		expect(await quotaUsed(db, tenantId)).toMatchObject({ volumes: 0, volume_gib: 0, snapshots: 1 });

		const restore = (body: Record<string, unknown>) =>
			t.request<{ volume: VolumeBody; code?: string }>("POST", `/v1/tenants/${tenantId}/volumes`, {
				token,
				body: { name: `r-${Math.random().toString(36).slice(2, 8)}`, snapshot_id: snap.id, ...body },
			});
		expect((await restore({ size_gib: 9 })).body.code).toBe("validation_failed");
		expect((await restore({ size_gib: 10, storage_class: "hdd" })).body.code).toBe("validation_failed");
		const otherZone = await makeZone(db);
		await makePool(db, otherZone.id, { capacityGib: 1000, storageClass: "ssd" });
		expect((await restore({ size_gib: 10, zone: otherZone.name })).body.code).toBe("validation_failed");
		const missing = await restore({ size_gib: 10, snapshot_id: v.id });
		expect(missing.status).toBe(404);

		const restored = await restore({ size_gib: 12 });
		expect(restored.status).toBe(202);
		expect(restored.body.volume).toMatchObject({
			size_gib: 12,
			source_snapshot_id: snap.id,
			storage_class: "ssd",
			status: "creating",
		});
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 22, actual: 22 });

		// While the restore copies from it, the snapshot stays.
		const early = await t.request<{ code: string }>("DELETE", `/v1/tenants/${tenantId}/snapshots/${snap.id}`, {
			token,
		});
		expect(early.status).toBe(409);
		expect(early.body.code).toBe("invalid_state");
		await settleVolumes(db, [restored.body.volume.id]);
		const gone = await t.request<{ operation: { kind: string } }>(
			"DELETE",
			`/v1/tenants/${tenantId}/snapshots/${snap.id}`,
			{ token },
		);
		expect(gone.status).toBe(202);
		expect(gone.body.operation.kind).toBe("snapshot.delete");
		expect((await restore({ size_gib: 10 })).body.code).toBe("invalid_state");
		expect(await quotaUsed(db, tenantId)).toMatchObject(await recountStorage(db, tenantId));
	});

	it("a delete of a snapshot still being taken is accepted and cancels its create", async () => {
		const { zone, tenantId, token, snapshot } = await setup();
		const v = await createVolume(t, tenantId, token, { size_gib: 1, zone: zone.name });
		await settleVolumes(db, [v.id]);
		const snap = (await snapshot(v.id, "short-lived")).body.snapshot;
		const del = await t.request("DELETE", `/v1/tenants/${tenantId}/snapshots/${snap.id}`, { token });
		expect(del.status).toBe(202);
		const again = await t.request<{ code: string }>("DELETE", `/v1/tenants/${tenantId}/snapshots/${snap.id}`, {
			token,
		});
		expect(again.body.code).toBe("invalid_state");
	});
});
