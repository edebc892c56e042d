import { type Db, instances } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hostUsage, liveUsage, makeFlavor, makeHost, makeZone, quotaUsed, setQuota } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

async function parallelCreates(tenantId: string, token: string, count: number, body: Record<string, unknown>) {
	return Promise.all(
		Array.from({ length: count }, (_, i) =>
			t.request<{ instance?: { id: string }; code?: string }>("POST", `/v1/tenants/${tenantId}/instances`, {
				token,
				body: { name: `vm-${i}`, ...body },
			}),
		),
	);
}

function tally(results: { status: number }[]): Record<number, number> {
	const out: Record<number, number> = {};
	for (const r of results) out[r.status] = (out[r.status] ?? 0) + 1;
	return out;
}

describe("placement under real parallel requests", () => {
	it("100 parallel creates against quota room for 7: exactly 7 accepted, the rest quota_exceeded", async () => {
		const zone = await makeZone(db);
		for (let i = 0; i < 4; i++) await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 1024 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { instances: 7, vcpus: 1000, memory_mib: 1_000_000 });
		const { token } = await t.principal(tenant.id, "member");

		const results = await parallelCreates(tenant.id, token, 100, { flavor: flavor.name });
		expect(tally(results)).toEqual({ 202: 7, 422: 93 });
		for (const r of results.filter((r) => r.status === 422)) {
			expect(r.body).toMatchObject({ code: "quota_exceeded" });
		}
		const used = await quotaUsed(db, tenant.id);
		const live = await liveUsage(db, tenant.id);
		expect(live.instances).toBe(7);
		expect(used.instances).toBe(7);
		expect(used.vcpus).toBe(live.vcpus);
		expect(used.memory_mib).toBe(live.memory);
	});

	it("the quota_exceeded answer names each resource with its limit, usage and request", async () => {
		const zone = await makeZone(db);
		await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 4, memoryMib: 8192 });
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { vcpus: 2, memory_mib: 4096 });
		const { token } = await t.principal(tenant.id, "member");
		const [res] = await parallelCreates(tenant.id, token, 1, { flavor: flavor.name });
		expect(res?.status).toBe(422);
		expect(res?.body).toMatchObject({
			code: "quota_exceeded",
			errors: expect.arrayContaining([
				{ resource: "vcpus", limit: 2, used: 0, requested: 4 },
				{ resource: "memory_mib", limit: 4096, used: 0, requested: 8192 },
			]),
		});
		expect(await quotaUsed(db, tenant.id)).toMatchObject({ instances: 0, vcpus: 0, memory_mib: 0 });
	});

	it("100 parallel creates against host capacity for 5: exactly 5 placed, the rest no_capacity", async () => {
		const zone = await makeZone(db, "SN");
		const host = await makeHost(db, zone.id, { vcpus: 10, memoryMib: 65_536 });
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 1024 });
		const tenant = await t.createTenant({ data_residency: ["SN"] });
		await setQuota(db, tenant.id, { instances: 1000, vcpus: 1000, memory_mib: 1_000_000 });
		const { token } = await t.principal(tenant.id, "member");

		const results = await parallelCreates(tenant.id, token, 100, { flavor: flavor.name, zone: zone.name });
		expect(tally(results)).toEqual({ 202: 5, 503: 95 });
		for (const r of results.filter((r) => r.status === 503)) expect(r.body).toMatchObject({ code: "no_capacity" });
		expect(await hostUsage(db, host.id)).toMatchObject({ vcpusUsed: 10, instanceCount: 5 });
		// Refused creates released the quota they claimed before the host search failed.
		expect(await quotaUsed(db, tenant.id)).toMatchObject({ instances: 5, vcpus: 10, memory_mib: 5120 });
	});

	it("an anti-affinity group of 4 on 3 hosts: exactly 3 succeed, each on its own host", async () => {
		const zone = await makeZone(db, "TN");
		for (let i = 0; i < 3; i++) await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const tenant = await t.createTenant({ data_residency: ["TN"] });
		const { token } = await t.principal(tenant.id, "member");
		await db.execute(
			`insert into placement_groups (id, tenant_id, name, policy) values (gen_random_uuid(), '${tenant.id}', 'spread-out', 'anti-affinity')`,
		);
		const results = await parallelCreates(tenant.id, token, 4, { flavor: flavor.name, placement_group: "spread-out" });
		expect(tally(results)).toEqual({ 202: 3, 503: 1 });
		const placed = await db.select().from(instances).where(eq(instances.tenantId, tenant.id));
		expect(new Set(placed.map((i) => i.hostId)).size).toBe(3);
	});

	it("an affinity group: parallel creates all land on one host", async () => {
		const zone = await makeZone(db, "DZ");
		for (let i = 0; i < 3; i++) await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const tenant = await t.createTenant({ data_residency: ["DZ"] });
		const { token } = await t.principal(tenant.id, "member");
		await db.execute(
			`insert into placement_groups (id, tenant_id, name, policy) values (gen_random_uuid(), '${tenant.id}', 'together', 'affinity')`,
		);
		const results = await parallelCreates(tenant.id, token, 6, { flavor: flavor.name, placement_group: "together" });
		expect(tally(results)).toEqual({ 202: 6 });
		const placed = await db.select().from(instances).where(eq(instances.tenantId, tenant.id));
		expect(new Set(placed.map((i) => i.hostId)).size).toBe(1);
	});

	it("a tenant restricted to MA never lands outside MA, and gets no_capacity when MA is full", async () => {
		const ma = await makeZone(db, "MA");
		const fr = await makeZone(db, "FR");
		const maHost = await makeHost(db, ma.id, { vcpus: 4, memoryMib: 65_536 });
		// A roomy host abroad that spread would prefer if residency were ignored.
		await makeHost(db, fr.id, { vcpus: 256, memoryMib: 1_048_576 });
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 1024 });
		const tenant = await t.createTenant({ data_residency: ["MA"] });
		const { token } = await t.principal(tenant.id, "member");
		const results = await parallelCreates(tenant.id, token, 5, { flavor: flavor.name });
		expect(tally(results)).toEqual({ 202: 2, 503: 3 });
		const placed = await db.select().from(instances).where(eq(instances.tenantId, tenant.id));
		expect(placed.every((i) => i.hostId === maHost.id && i.zoneId === ma.id)).toBe(true);

		const outside = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
			token,
			body: { name: "abroad", flavor: flavor.name, zone: fr.name },
		});
		expect(outside.status).toBe(400);
	});
});
