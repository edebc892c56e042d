import { type Db, operations, outbox, volumes } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
	createVolume,
	makeInstance,
	makePool,
	makeZone,
	quotaUsed,
	recountStorage,
	settleVolumes,
	type VolumeBody,
} from "./fixtures";

let db: Db;
let zone: { id: string; name: string };
let tenantId: string;
let member: string;
let viewer: string;
const t = useTestPlatform({
	setup: async (t) => {
		db = t.db;
		zone = await makeZone(db);
		await makePool(db, zone.id, { capacityGib: 10_000, storageClass: "ssd" });
		await makePool(db, zone.id, { capacityGib: 20_000, storageClass: "hdd" });
		tenantId = (await t.createTenant()).id;
		member = (await t.principal(tenantId, "member")).token;
		viewer = (await t.principal(tenantId, "viewer")).token;
	},
});

const base = () => `/v1/tenants/${tenantId}/volumes`;
type Operation = { id: string; kind: string; target_type: string; target_id: string; status: string };

describe("volumes: the request side of each transition", () => {
	it("creates a volume in the class and zone asked for, or else on the pool with the most free space", async () => {
		const res = await t.request<{ volume: VolumeBody; operation: Operation }>("POST", base(), {
			token: member,
			headers: { "idempotency-key": "data-1" },
			body: { name: "data-1", size_gib: 20, zone: zone.name, storage_class: "ssd" },
		});
		expect(res.status).toBe(202);
		expect(res.body.volume).toMatchObject({
			name: "data-1",
			size_gib: 20,
			zone: zone.name,
			storage_class: "ssd",
			status: "creating",
			instance_id: null,
			source_snapshot_id: null,
		});
		expect(res.body.operation).toMatchObject({
			kind: "volume.create",
			target_type: "volume",
			target_id: res.body.volume.id,
			status: "pending",
		});
		// Replayed, not made twice.
		const replay = await t.request<{ volume: VolumeBody }>("POST", base(), {
			token: member,
			headers: { "idempotency-key": "data-1" },
			body: { name: "data-1", size_gib: 20, zone: zone.name, storage_class: "ssd" },
		});
		expect(replay.status).toBe(202);
		expect(replay.headers["idempotent-replayed"]).toBe("true");
		expect(replay.body.volume.id).toBe(res.body.volume.id);

		// No class asked for: the hdd pool has the most free space.
		const any = await createVolume(t, tenantId, member, { size_gib: 5 });
		expect(any).toMatchObject({ storage_class: "hdd", zone: zone.name });

		const duplicate = await t.request<{ code: string }>("POST", base(), {
			token: member,
			body: { name: "data-1", size_gib: 1 },
		});
		expect(duplicate.status).toBe(409);
		expect(duplicate.body.code).toBe("conflict");
		for (const body of [
			{ name: "bad", size_gib: 1, storage_class: "nvme" },
			{ name: "bad", size_gib: 1, zone: "nowhere" },
			{ name: "bad", size_gib: 0 },
			{ name: "bad", size_gib: 65_537 },
			{ name: "bad", size_gib: "5" },
			{ name: "bad", size_gib: 1, pool_id: zone.id },
		]) {
			const refused = await t.request<{ code: string }>("POST", base(), { token: member, body });
			expect(refused.status, JSON.stringify(body)).toBe(400);
			expect(refused.body.code).toBe("validation_failed");
		}
		expect(await quotaUsed(db, tenantId)).toMatchObject(await recountStorage(db, tenantId));
	});

	it("lists with filters, gets, and lets viewers read but not write", async () => {
		const a = await createVolume(t, tenantId, member, { size_gib: 3, storage_class: "ssd" });
		await settleVolumes(db, [a.id]);
		const listed = await t.request<{ items: VolumeBody[] }>("GET", `${base()}?status=available&limit=200`, {
			token: viewer,
		});
		expect(listed.status).toBe(200);
		expect(listed.body.items.map((v) => v.id)).toContain(a.id);
		expect(listed.body.items.every((v) => v.status === "available")).toBe(true);
		const inZone = await t.request<{ items: VolumeBody[] }>("GET", `${base()}?zone=${zone.id}&limit=200`, {
			token: viewer,
		});
		expect(inZone.body.items.length).toBeGreaterThan(0);
		const elsewhere = await t.request<{ items: VolumeBody[] }>("GET", `${base()}?zone=nowhere`, { token: viewer });
		expect(elsewhere.body.items).toEqual([]);
		const got = await t.request<VolumeBody>("GET", `${base()}/${a.id}`, { token: viewer });
		expect(got.body).toMatchObject({ id: a.id, status: "available" });

		const write = await t.request<{ code: string }>("POST", `${base()}/${a.id}/resize`, {
			token: viewer,
			body: { size_gib: 10 },
		});
		expect(write.status).toBe(403);
		const other = await t.createTenant();
		const otherMember = (await t.principal(other.id, "member")).token;
		const crossTenant = await t.request("GET", `${base()}/${a.id}`, { token: otherMember });
		expect(crossTenant.status).toBe(404);
		const viaOwnPath = await t.request("GET", `/v1/tenants/${other.id}/volumes/${a.id}`, { token: otherMember });
		expect(viaOwnPath.status).toBe(404);
	});

	it("grows only: a smaller or equal size is 400, a busy volume 409, a bigger one resizing with its operation", async () => {
		const v = await createVolume(t, tenantId, member, { size_gib: 10 });
		const early = await t.request<{ code: string }>("POST", `${base()}/${v.id}/resize`, {
			token: member,
			body: { size_gib: 20 },
		});
		expect(early.status).toBe(409);
		expect(early.body.code).toBe("invalid_state");
		await settleVolumes(db, [v.id]);
		for (const size_gib of [5, 10]) {
			const shrink = await t.request<{ code: string }>("POST", `${base()}/${v.id}/resize`, {
				token: member,
				body: { size_gib },
			});
			expect(shrink.status).toBe(400);
			expect(shrink.body.code).toBe("validation_failed");
		}
		const before = await quotaUsed(db, tenantId);
		const grow = await t.request<{ operation: Operation }>("POST", `${base()}/${v.id}/resize`, {
			token: member,
			body: { size_gib: 25 },
		});
		expect(grow.status).toBe(202);
		expect(grow.body.operation).toMatchObject({ kind: "volume.resize", target_id: v.id });
		expect((await t.request<VolumeBody>("GET", `${base()}/${v.id}`, { token: member })).body).toMatchObject({
			size_gib: 25,
			status: "resizing",
		});
		const after = await quotaUsed(db, tenantId);
		expect(after.volume_gib).toBe((before.volume_gib ?? 0) + 15);
		expect(after.volumes).toBe(before.volumes);
		// The job carries both sizes, so a failed resize gives back exactly the difference.
		const [queued] = await db.select().from(outbox).where(eq(outbox.operationId, grow.body.operation.id));
		expect(queued?.payload).toEqual({ volume_id: v.id, from_size_gib: 10, to_size_gib: 25 });
	});

	it("attaches to a running or stopped instance of the tenant in its zone, and refuses every other pairing", async () => {
		const v = await createVolume(t, tenantId, member, { size_gib: 4, zone: zone.name });
		await settleVolumes(db, [v.id]);
		const attach = (instance_id: string) =>
			t.request<{ code: string; operation: Operation }>("POST", `${base()}/${v.id}/attach`, {
				token: member,
				body: { instance_id },
			});

		const otherZone = await makeZone(db);
		const far = await makeInstance(db, tenantId, otherZone.id);
		const crossZone = await attach(far.id);
		expect(crossZone.status).toBe(400);
		expect(crossZone.body.code).toBe("validation_failed");

		const other = await t.createTenant();
		const theirs = await makeInstance(db, other.id, zone.id);
		const crossTenant = await attach(theirs.id);
		expect(crossTenant.status).toBe(404);
		expect(crossTenant.body.code).toBe("not_found");

		const booting = await makeInstance(db, tenantId, zone.id, "provisioning");
		expect((await attach(booting.id)).body.code).toBe("invalid_state");

		const stopped = await makeInstance(db, tenantId, zone.id, "stopped");
		const ok = await attach(stopped.id);
		expect(ok.status).toBe(202);
		expect(ok.body.operation).toMatchObject({ kind: "volume.attach", target_id: v.id });
		expect((await t.request<VolumeBody>("GET", `${base()}/${v.id}`, { token: member })).body).toMatchObject({
			status: "attaching",
			instance_id: stopped.id,
		});
		const byInstance = await t.request<{ items: VolumeBody[] }>("GET", `${base()}?instance_id=${stopped.id}`, {
			token: viewer,
		});
		expect(byInstance.body.items.map((x) => x.id)).toEqual([v.id]);

		// Attached (or attaching, or detaching): no delete, no second attach, no detach before in_use.
		for (const status of ["attaching", "in_use", "detaching"] as const) {
			await db.update(volumes).set({ status }).where(eq(volumes.id, v.id));
			const del = await t.request<{ code: string }>("DELETE", `${base()}/${v.id}`, { token: member });
			expect(del.status, status).toBe(409);
			expect(del.body.code).toBe("invalid_state");
		}
		await db.update(volumes).set({ status: "attaching" }).where(eq(volumes.id, v.id));
		expect((await t.request("POST", `${base()}/${v.id}/detach`, { token: member })).status).toBe(409);
		await settleVolumes(db, [v.id], "in_use");
		const detach = await t.request<{ operation: Operation }>("POST", `${base()}/${v.id}/detach`, { token: member });
		expect(detach.status).toBe(202);
		expect(detach.body.operation.kind).toBe("volume.detach");
		expect((await t.request<VolumeBody>("GET", `${base()}/${v.id}`, { token: member })).body.status).toBe("detaching");
	});

	it("a delete of a volume still being made cancels its create; a second delete is 409", async () => {
		const v = await createVolume(t, tenantId, member, { size_gib: 2 });
		const del = await t.request<{ operation: Operation }>("DELETE", `${base()}/${v.id}`, { token: member });
		expect(del.status).toBe(202);
		expect(del.body.operation.kind).toBe("volume.delete");
		const ops = await db.select().from(operations).where(eq(operations.targetId, v.id));
		const create = ops.find((op) => op.kind === "volume.create");
		// Marked to compensate: whichever run takes it next undoes it instead of going on.
		expect(create?.state).toMatchObject({ compensating: { code: "cancelled" } });
		const again = await t.request<{ code: string }>("DELETE", `${base()}/${v.id}`, { token: member });
		expect(again.status).toBe(409);
		expect(again.body.code).toBe("invalid_state");
	});
});
