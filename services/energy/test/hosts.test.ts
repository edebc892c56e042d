import { instanceEvents, instances } from "@igoudar/db";
import { asc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnergyHarness } from "./support";

/** What the ledger reads about hosts: their embodied carbon, and which instances stood on them. */

let h: EnergyHarness;

beforeAll(async () => {
	h = await EnergyHarness.start();
}, 60_000);
afterAll(async () => {
	await h?.close();
});

describe("hosts for the energy ledger", () => {
	it("take embodied carbon and a lifetime on create and update, and refuse nonsense", async () => {
		const zone = await h.zone();
		const token = await h.operator();
		const body = { name: "hv-embodied", zone: zone.name, vcpus: 64, memory_mib: 262_144, disk_gib: 4000 };
		const created = await h.t.request<{ id: string; embodied_kgco2e: number | null; lifetime_years: number | null }>(
			"POST",
			"/v1/hosts",
			{ token, body: { ...body, embodied_kgco2e: 1500, lifetime_years: 5 } },
		);
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ embodied_kgco2e: 1500, lifetime_years: 5 });
		const updated = await h.t.request("PATCH", `/v1/hosts/${created.body.id}`, {
			token,
			body: { embodied_kgco2e: 1800, lifetime_years: null },
		});
		expect(updated.status).toBe(200);
		expect(updated.body).toMatchObject({ embodied_kgco2e: 1800, lifetime_years: null });
		for (const bad of [{ lifetime_years: 0 }, { embodied_kgco2e: -1 }, { lifetime_years: 2.5 }]) {
			const res = await h.t.request("PATCH", `/v1/hosts/${created.body.id}`, { token, body: bad });
			expect(res.status, JSON.stringify(bad)).toBe(400);
		}
	});

	it("record on every instance event the host the instance holds, so past hours keep their host", async () => {
		const zone = await h.zone();
		const host = await h.host(zone.id);
		const tenant = await h.t.createTenant();
		const [row] = await h.db
			.insert(instances)
			.values({
				tenantId: tenant.id,
				name: "vm-events",
				zoneId: zone.id,
				hostId: host.id,
				status: "provisioning",
				vcpus: 2,
				memoryMib: 4096,
				diskGib: 10,
			})
			.returning();
		if (!row) throw new Error("no instance");
		await h.db.update(instances).set({ status: "running" }).where(eq(instances.id, row.id));
		// The delete releases the host, then ends the lifetime.
		await h.db.update(instances).set({ status: "deleting" }).where(eq(instances.id, row.id));
		await h.db.update(instances).set({ hostId: null, deletedAt: new Date() }).where(eq(instances.id, row.id));
		const events = await h.db
			.select({ status: instanceEvents.status, hostId: instanceEvents.hostId })
			.from(instanceEvents)
			.where(eq(instanceEvents.instanceId, row.id))
			.orderBy(asc(instanceEvents.id));
		expect(events).toEqual([
			{ status: "provisioning", hostId: host.id },
			{ status: "running", hostId: host.id },
			{ status: "deleting", hostId: host.id },
			{ status: "deleted", hostId: null },
		]);
	});
});
