import type { Db } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { releaseVolumeClaims } from "@igoudar/storage";
import { describe, expect, it } from "vitest";
import { createVolume, makePool, makeZone, poolAllocation, settleVolumes } from "./fixtures";

let db: Db;
let operator: string;
const t = useTestPlatform({
	setup: async (t) => {
		db = t.db;
		operator = await t.operatorToken();
	},
});

interface PoolBody {
	id: string;
	name: string;
	zone: string;
	storage_class: string;
	driver: string;
	status: string;
	capacity_gib: number;
	overcommit_ratio: number;
	allocated_gib: number;
	free_gib: number;
	code?: string;
}

describe("storage pools (operators)", () => {
	it("creates, lists, gets, changes and deletes a pool; free space follows overcommit and allocation", async () => {
		const zone = await makeZone(db, "MA");
		const created = await t.request<PoolBody>("POST", "/v1/storage-pools", {
			token: operator,
			body: { name: "pool-a", zone: zone.name, capacity_gib: 1000, storage_class: "ssd", overcommit_ratio: 1.5 },
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({
			name: "pool-a",
			zone: zone.name,
			storage_class: "ssd",
			driver: "simulated",
			status: "enabled",
			capacity_gib: 1000,
			overcommit_ratio: 1.5,
			allocated_gib: 0,
			free_gib: 1500,
		});
		const id = created.body.id;

		const again = await t.request<PoolBody>("POST", "/v1/storage-pools", {
			token: operator,
			body: { name: "pool-a", zone: zone.id, capacity_gib: 10, storage_class: "ssd" },
		});
		expect(again.status).toBe(409);

		const unknownZone = await t.request<PoolBody>("POST", "/v1/storage-pools", {
			token: operator,
			body: { name: "pool-b", zone: "nowhere", capacity_gib: 10, storage_class: "ssd" },
		});
		expect(unknownZone.status).toBe(400);

		const tooRatio = await t.request("POST", "/v1/storage-pools", {
			token: operator,
			body: { name: "pool-c", zone: zone.name, capacity_gib: 10, storage_class: "ssd", overcommit_ratio: 17 },
		});
		expect(tooRatio.status).toBe(400);

		const listed = await t.request<{ items: PoolBody[] }>("GET", `/v1/storage-pools?zone=${zone.name}`, {
			token: operator,
		});
		expect(listed.body.items.map((p) => p.id)).toEqual([id]);
		const byClass = await t.request<{ items: PoolBody[] }>("GET", "/v1/storage-pools?storage_class=hdd", {
			token: operator,
		});
		expect(byClass.body.items).toEqual([]);

		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");
		const volume = await createVolume(t, tenant.id, token, { size_gib: 600, zone: zone.name });
		expect((await t.request<PoolBody>("GET", `/v1/storage-pools/${id}`, { token: operator })).body).toMatchObject({
			allocated_gib: 600,
			free_gib: 900,
		});

		// Capacity may not go below what is allocated; disabling an over-full pool still works.
		const shrink = await t.request<PoolBody>("PATCH", `/v1/storage-pools/${id}`, {
			token: operator,
			body: { capacity_gib: 500, overcommit_ratio: 1 },
		});
		expect(shrink.status).toBe(409);
		expect(shrink.body.code).toBe("conflict");
		const disabled = await t.request<PoolBody>("PATCH", `/v1/storage-pools/${id}`, {
			token: operator,
			body: { status: "disabled", capacity_gib: 600, overcommit_ratio: 1 },
		});
		expect(disabled.status).toBe(200);
		expect(disabled.body).toMatchObject({ status: "disabled", capacity_gib: 600, free_gib: 0, allocated_gib: 600 });

		// A pool that holds a volume cannot go.
		const refused = await t.request<PoolBody>("DELETE", `/v1/storage-pools/${id}`, { token: operator });
		expect(refused.status).toBe(409);
		expect(refused.body.code).toBe("conflict");

		// Once the volume is deleted and released (as its saga does), the pool can go.
		await settleVolumes(db, [volume.id]);
		const deleting = await t.request("DELETE", `/v1/tenants/${tenant.id}/volumes/${volume.id}`, { token });
		expect(deleting.status).toBe(202);
		await releaseVolumeClaims(db, volume.id, "delete");
		expect(await poolAllocation(db, id)).toEqual({ stored: 0, actual: 0 });
		expect((await t.request("DELETE", `/v1/storage-pools/${id}`, { token: operator })).status).toBe(204);
		expect((await t.request("GET", `/v1/storage-pools/${id}`, { token: operator })).status).toBe(404);
	});

	it("refuses every pool route to tenants, whatever their role", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 100 });
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "admin");
		const calls: [string, string, unknown][] = [
			["GET", "/v1/storage-pools", undefined],
			["POST", "/v1/storage-pools", { name: "x", zone: zone.name, capacity_gib: 1, storage_class: "ssd" }],
			["GET", `/v1/storage-pools/${pool.id}`, undefined],
			["PATCH", `/v1/storage-pools/${pool.id}`, { status: "disabled" }],
			["DELETE", `/v1/storage-pools/${pool.id}`, undefined],
		];
		for (const [method, url, body] of calls) {
			const res = await t.request<{ code: string }>(method, url, { token, body });
			expect(res.status, `${method} ${url}`).toBe(403);
			expect(res.body.code).toBe("forbidden");
		}
	});
});
