import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TestPlatform } from "@igoudar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const committed = JSON.parse(
	readFileSync(fileURLToPath(new URL("../../../openapi/igoudar.json", import.meta.url)), "utf8"),
) as { paths: Record<string, unknown> };

describe("one service per process", () => {
	let tenants: TestPlatform;
	let compute: TestPlatform;
	let storage: TestPlatform;
	beforeAll(async () => {
		tenants = await TestPlatform.start({ target: "tenants" });
		compute = await TestPlatform.start({ target: "compute" });
		storage = await TestPlatform.start({ target: "storage" });
	});
	afterAll(async () => {
		await tenants?.close();
		await compute?.close();
		await storage?.close();
	});

	it("mounts only the target's routes", () => {
		const urls = (t: TestPlatform) => new Set(t.platform.routes.map((r) => r.url));
		expect(urls(tenants).has("/v1/tenants")).toBe(true);
		expect(urls(tenants).has("/v1/tenants/:tenant_id/instances")).toBe(false);
		expect(urls(compute).has("/v1/tenants/:tenant_id/instances")).toBe(true);
		expect(urls(compute).has("/v1/auth/token")).toBe(false);
		expect(urls(compute).has("/v1/storage-pools")).toBe(false);
		expect(urls(storage).has("/v1/storage-pools")).toBe(true);
		expect(urls(storage).has("/v1/tenants/:tenant_id/volumes")).toBe(true);
		expect(urls(storage).has("/v1/tenants/:tenant_id/instances")).toBe(false);
		expect(urls(storage).has("/v1/sites")).toBe(false);
	});

	it("mounts the energy service alone under --target=energy", async () => {
		const energy = await TestPlatform.start({ target: "energy" });
		try {
			const urls = new Set(energy.platform.routes.map((r) => r.url));
			expect(urls.has("/v1/sites")).toBe(true);
			expect(urls.has("/v1/tenants/:tenant_id/energy")).toBe(true);
			expect(urls.has("/v1/methodology")).toBe(true);
			expect(urls.has("/v1/tenants/:tenant_id/instances")).toBe(false);
		} finally {
			await energy.close();
		}
	});

	it("serves the merged spec of every service, so clients behind the router see one API", async () => {
		for (const t of [tenants, compute, storage]) {
			const spec = await t.request<{ paths: Record<string, unknown> }>("GET", "/openapi.json");
			expect(Object.keys(spec.body.paths).sort()).toEqual(Object.keys(committed.paths).sort());
			// The interactive reference reads the same merged document.
			const ui = await t.request<{ paths: Record<string, unknown> }>("GET", "/docs/json");
			expect(Object.keys(ui.body.paths).sort()).toEqual(Object.keys(committed.paths).sort());
		}
	});
});
