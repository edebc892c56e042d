import { releaseInstanceClaims } from "@igoudar/compute";
import { type Db, instances, tenants } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { makeFlavor, makeHost, makeZone, quotaUsed } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

describe("a tenant's deletion and its instances", () => {
	it("refuses while any instance is live (even a failed one holding nothing), then takes the history along", async () => {
		const zone = await makeZone(db, "MR");
		await makeHost(db, zone.id, { vcpus: 16, memoryMib: 65_536 });
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
		const tenant = await t.createTenant({ data_residency: ["MR"] });
		const operator = await t.operatorToken();
		const created = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: operator,
			body: { name: "web", flavor: flavor.name },
		});
		expect(created.status).toBe(202);
		const instanceId = created.body.instance.id;

		expect((await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator })).status).toBe(409);

		// The create fails: quota and capacity come back, the instance stays visible as failed.
		await releaseInstanceClaims(db, instanceId, "fail");
		expect(await quotaUsed(db, tenant.id)).toMatchObject({ instances: 0, vcpus: 0, memory_mib: 0 });
		const failed = await t.request<{ status: string }>("GET", `/v1/tenants/${tenant.id}/instances/${instanceId}`, {
			token: operator,
		});
		expect(failed.body.status).toBe("failed");
		expect((await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator })).status).toBe(409);

		// Deleted: gone from reads, kept as history until the tenant itself goes.
		await releaseInstanceClaims(db, instanceId, "delete");
		expect(
			(await t.request("GET", `/v1/tenants/${tenant.id}/instances/${instanceId}`, { token: operator })).status,
		).toBe(404);
		expect(await db.select().from(instances).where(eq(instances.id, instanceId))).toHaveLength(1);

		expect((await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator })).status).toBe(204);
		expect(await db.select().from(tenants).where(eq(tenants.id, tenant.id))).toHaveLength(0);
		expect(await db.select().from(instances).where(eq(instances.id, instanceId))).toHaveLength(0);
	});

	it("a flavor used only by deleted instances can be retired", async () => {
		const zone = await makeZone(db, "ML");
		await makeHost(db, zone.id, { vcpus: 16, memoryMib: 65_536 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 1024 });
		const tenant = await t.createTenant({ data_residency: ["ML"] });
		const operator = await t.operatorToken();
		const created = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: operator,
			body: { name: "batch", flavor: flavor.id },
		});
		expect(created.status).toBe(202);
		expect((await t.request("DELETE", `/v1/flavors/${flavor.id}`, { token: operator })).status).toBe(409);
		await releaseInstanceClaims(db, created.body.instance.id, "delete");
		expect((await t.request("DELETE", `/v1/flavors/${flavor.id}`, { token: operator })).status).toBe(204);
		const [history] = await db.select().from(instances).where(eq(instances.id, created.body.instance.id));
		expect(history?.flavorId).toBeNull();
		expect(history?.vcpus).toBe(1);
	});
});
