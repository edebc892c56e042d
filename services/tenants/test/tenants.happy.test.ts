import { TestPlatform } from "@igoudar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let t: TestPlatform;
beforeAll(async () => {
	t = await TestPlatform.start();
});
afterAll(async () => {
	await t?.close();
});

describe("tenants: happy paths", () => {
	it("creates, reads, updates and lists a tenant with default quotas", async () => {
		const token = await t.operatorToken();
		const created = await t.request<{ id: string; status: string; data_residency: string[] }>("POST", "/v1/tenants", {
			token,
			body: { name: "acme", display_name: "Acme", data_residency: ["MA", "FR", "MA"] },
		});
		expect(created.status).toBe(201);
		expect(created.body.status).toBe("active");
		expect(created.body.data_residency).toEqual(["FR", "MA"]);
		const quotas = await t.request<{ items: { resource: string; limit: number; used: number }[] }>(
			"GET",
			`/v1/tenants/${created.body.id}/quotas`,
			{ token },
		);
		expect(quotas.status).toBe(200);
		expect(quotas.body.items.map((q) => q.resource)).toEqual([
			"instances",
			"vcpus",
			"memory_mib",
			"volumes",
			"volume_gib",
			"snapshots",
		]);
		const patched = await t.request("PATCH", `/v1/tenants/${created.body.id}`, {
			token,
			body: { display_name: "Acme Corp", status: "suspended" },
		});
		expect(patched.status).toBe(200);
		expect(patched.body).toMatchObject({ display_name: "Acme Corp", status: "suspended" });
	});
});
