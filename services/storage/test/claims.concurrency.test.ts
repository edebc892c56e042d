import { type Db, volumes } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
	createVolume,
	makeComputeCapacity,
	makeInstance,
	makePool,
	makeZone,
	poolAllocation,
	quotaUsed,
	recountStorage,
	setQuota,
	settleTenantOperations,
	settleVolumes,
	tally,
	type VolumeBody,
} from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

async function parallelCreates(tenantId: string, token: string, count: number, body: Record<string, unknown>) {
	return Promise.all(
		Array.from({ length: count }, (_, i) =>
			t.request<{ volume?: VolumeBody; code?: string }>("POST", `/v1/tenants/${tenantId}/volumes`, {
				token,
				body: { name: `vol-${i}`, ...body },
			}),
		),
	);
}

/** Counters against a SQL recount of the live volumes and snapshots: they must be equal. */
async function expectCountersExact(tenantId: string, poolIds: string[]) {
	const used = await quotaUsed(db, tenantId);
	const live = await recountStorage(db, tenantId);
	expect({ volumes: used.volumes, volume_gib: used.volume_gib, snapshots: used.snapshots }).toEqual(live);
	for (const poolId of poolIds) {
		const pool = await poolAllocation(db, poolId);
		expect(pool.stored).toBe(pool.actual);
	}
	return live;
}

describe("storage claims under real parallel requests", () => {
	it("100 parallel creates against quota room for 7 volumes: exactly 7 accepted, the rest quota_exceeded", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 100_000 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { volumes: 7, volume_gib: 100_000 });
		const { token } = await t.principal(tenant.id, "member");

		const results = await parallelCreates(tenant.id, token, 100, { size_gib: 10 });
		expect(tally(results)).toEqual({ 202: 7, 422: 93 });
		for (const r of results.filter((r) => r.status === 422)) expect(r.body.code).toBe("quota_exceeded");
		const live = await expectCountersExact(tenant.id, [pool.id]);
		expect(live).toEqual({ volumes: 7, volume_gib: 70, snapshots: 0 });
	});

	it("100 parallel creates against quota room for 5 volumes' GiB: exactly 5 accepted", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 100_000 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { volumes: 1000, volume_gib: 54 });
		const { token } = await t.principal(tenant.id, "member");

		const results = await parallelCreates(tenant.id, token, 100, { size_gib: 10 });
		expect(tally(results)).toEqual({ 202: 5, 422: 95 });
		const refused = results.find((r) => r.status === 422);
		expect(refused?.body).toMatchObject({
			code: "quota_exceeded",
			errors: [{ resource: "volume_gib", limit: 54, used: 50, requested: 10 }],
		});
		expect(await expectCountersExact(tenant.id, [pool.id])).toEqual({ volumes: 5, volume_gib: 50, snapshots: 0 });
	});

	it("100 parallel creates against pool room for 6: exactly 6 placed, the rest no_capacity, quota given back", async () => {
		const zone = await makeZone(db, "SN");
		// Two pools of the zone with room for 4 and 2 volumes of 10 GiB (the second over-committed).
		const big = await makePool(db, zone.id, { capacityGib: 45 });
		const small = await makePool(db, zone.id, { capacityGib: 10, overcommitRatio: 2.5 });
		const tenant = await t.createTenant({ data_residency: ["SN"] });
		await setQuota(db, tenant.id, { volumes: 1000, volume_gib: 100_000 });
		const { token } = await t.principal(tenant.id, "member");

		const results = await parallelCreates(tenant.id, token, 100, { size_gib: 10, zone: zone.name });
		expect(tally(results)).toEqual({ 202: 6, 503: 94 });
		for (const r of results.filter((r) => r.status === 503)) expect(r.body.code).toBe("no_capacity");
		expect(await poolAllocation(db, big.id)).toEqual({ stored: 40, actual: 40 });
		expect(await poolAllocation(db, small.id)).toEqual({ stored: 20, actual: 20 });
		expect(await expectCountersExact(tenant.id, [big.id, small.id])).toEqual({
			volumes: 6,
			volume_gib: 60,
			snapshots: 0,
		});
	});

	it("parallel resizes against quota room for 4 more GiB: exactly 4 accepted, counters exact", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 100_000 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { volumes: 100, volume_gib: 104 });
		const { token } = await t.principal(tenant.id, "member");
		const made = await parallelCreates(tenant.id, token, 100, { size_gib: 1 });
		const ids = made.map((r) => r.body.volume?.id ?? "");
		expect(ids.filter(Boolean)).toHaveLength(100);
		await settleVolumes(db, ids);

		const results = await Promise.all(
			ids.map((id) =>
				t.request<{ code?: string }>("POST", `/v1/tenants/${tenant.id}/volumes/${id}/resize`, {
					token,
					body: { size_gib: 2 },
				}),
			),
		);
		expect(tally(results)).toEqual({ 202: 4, 422: 96 });
		for (const r of results.filter((r) => r.status === 422)) expect(r.body.code).toBe("quota_exceeded");
		expect(await expectCountersExact(tenant.id, [pool.id])).toEqual({ volumes: 100, volume_gib: 104, snapshots: 0 });
		const resizing = await db.select().from(volumes).where(eq(volumes.status, "resizing"));
		expect(resizing.filter((v) => v.tenantId === tenant.id).map((v) => v.sizeGib)).toEqual([2, 2, 2, 2]);
	});

	it("parallel resizes against pool room for 3 more GiB: exactly 3 accepted, the rest no_capacity", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 33 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { volumes: 100, volume_gib: 100_000 });
		const { token } = await t.principal(tenant.id, "member");
		const made = await parallelCreates(tenant.id, token, 30, { size_gib: 1, zone: zone.name });
		const ids = made.map((r) => r.body.volume?.id ?? "");
		expect(ids.filter(Boolean)).toHaveLength(30);
		await settleVolumes(db, ids);

		const results = await Promise.all(
			ids.map((id) =>
				t.request<{ code?: string }>("POST", `/v1/tenants/${tenant.id}/volumes/${id}/resize`, {
					token,
					body: { size_gib: 2 },
				}),
			),
		);
		expect(tally(results)).toEqual({ 202: 3, 503: 27 });
		for (const r of results.filter((r) => r.status === 503)) expect(r.body.code).toBe("no_capacity");
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 33, actual: 33 });
		expect(await expectCountersExact(tenant.id, [pool.id])).toEqual({ volumes: 30, volume_gib: 33, snapshots: 0 });
	});

	it("two (and ten) parallel attaches of one volume: exactly one is accepted, the others 409 invalid_state", async () => {
		const zone = await makeZone(db);
		await makePool(db, zone.id, { capacityGib: 1000 });
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");
		for (const contenders of [2, 10]) {
			const volume = await createVolume(t, tenant.id, token, { size_gib: 5, zone: zone.name });
			await settleVolumes(db, [volume.id]);
			const vms = await Promise.all(Array.from({ length: contenders }, () => makeInstance(db, tenant.id, zone.id)));
			const results = await Promise.all(
				vms.map((vm) =>
					t.request<{ code?: string }>("POST", `/v1/tenants/${tenant.id}/volumes/${volume.id}/attach`, {
						token,
						body: { instance_id: vm.id },
					}),
				),
			);
			expect(tally(results)).toEqual({ 202: 1, 409: contenders - 1 });
			for (const r of results.filter((r) => r.status === 409)) expect(r.body.code).toBe("invalid_state");
			const winner = vms[results.findIndex((r) => r.status === 202)];
			const [row] = await db.select().from(volumes).where(eq(volumes.id, volume.id));
			expect(row).toMatchObject({ status: "attaching", instanceId: winner?.id });
		}
	});

	it("storage requests racing instance creates and actions on the same volume and instance never deadlock", async () => {
		const zone = await makeZone(db);
		await makePool(db, zone.id, { capacityGib: 100_000 });
		const { flavor, flavorId } = await makeComputeCapacity(db, zone.id);
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { instances: 1000, vcpus: 1000, memory_mib: 1_000_000, volumes: 1000 });
		const { token } = await t.principal(tenant.id, "member");
		const statuses: number[] = [];
		for (let round = 0; round < 12; round++) {
			const volume = await createVolume(t, tenant.id, token, { size_gib: 1, zone: zone.name });
			await settleVolumes(db, [volume.id]);
			const vm = await makeInstance(db, tenant.id, zone.id, round % 2 ? "running" : "stopped", flavorId);
			const at = `/v1/tenants/${tenant.id}`;
			const results = await Promise.all([
				// The instance create locks the volume it attaches after taking the tenant's slot.
				t.request("POST", `${at}/instances`, { token, body: { name: `vm-${round}`, flavor, volume_ids: [volume.id] } }),
				t.request("POST", `${at}/volumes/${volume.id}/attach`, { token, body: { instance_id: vm.id } }),
				// Instance actions lock the instance row and take the slot after it.
				t.request("POST", `${at}/instances/${vm.id}/${round % 2 ? "stop" : "start"}`, { token }),
				t.request("POST", `${at}/volumes/${volume.id}/resize`, { token, body: { size_gib: 2 } }),
				t.request("POST", `${at}/volumes/${volume.id}/snapshots`, { token, body: { name: `s-${round}` } }),
				t.request("DELETE", `${at}/volumes/${volume.id}`, { token }),
				t.request("DELETE", `${at}/instances/${vm.id}`, { token }),
			]);
			statuses.push(...results.map((r) => r.status));
			await settleTenantOperations(db, tenant.id);
		}
		// Each request is accepted or refused for the state it found; a deadlock would be a 500.
		expect(statuses.filter((status) => status >= 500)).toEqual([]);
		expect(statuses.filter((status) => status === 202).length).toBeGreaterThan(12);
	});
});
