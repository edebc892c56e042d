import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnergyHarness } from "./support";

let h: EnergyHarness;

beforeAll(async () => {
	h = await EnergyHarness.start();
}, 60_000);
afterAll(async () => {
	await h?.close();
});

describe("sites", () => {
	it("are made from zone names or ids, listed and read by operators", async () => {
		const [a, b] = [await h.zone(), await h.zone()];
		const token = await h.operator();
		const created = await h.t.request<{ id: string; name: string; zones: string[] }>("POST", "/v1/sites", {
			token,
			body: { name: "dakhla-test", zones: [a.name, b.id] },
		});
		expect(created.status).toBe(201);
		expect(created.body.zones).toEqual([a.name, b.name].sort());
		const got = await h.t.request("GET", `/v1/sites/${created.body.id}`, { token });
		expect(got.body).toEqual(created.body);
		const list = await h.t.request<{ items: { id: string }[] }>("GET", "/v1/sites?limit=200", { token });
		expect(list.body.items.map((site) => site.id)).toContain(created.body.id);
	});

	it("refuse a taken name, a zone of another site, unknown zones and unknown fields", async () => {
		const token = await h.operator();
		const zone = await h.zone();
		await h.site([zone.name]);
		const cases: [Record<string, unknown>, number, string][] = [
			[{ name: (await h.site([(await h.zone()).name])).name, zones: [(await h.zone()).name] }, 409, "conflict"],
			[{ name: "second-site", zones: [zone.id] }, 409, "conflict"],
			[{ name: "third-site", zones: ["no-such-zone"] }, 400, "validation_failed"],
			[{ name: "fourth-site", zones: [] }, 400, "validation_failed"],
			[{ name: "fifth-site", zones: [zone.name], extra: true }, 400, "validation_failed"],
		];
		for (const [body, status, code] of cases) {
			const res = await h.t.request<{ code: string }>("POST", "/v1/sites", { token, body });
			expect(res.status, JSON.stringify(body)).toBe(status);
			expect(res.body.code).toBe(code);
		}
		const missing = await h.t.request("GET", `/v1/sites/${crypto.randomUUID()}`, { token });
		expect(missing.status).toBe(404);
	});

	it("are the operators' alone", async () => {
		const tenant = await h.t.createTenant();
		const admin = await h.t.principal(tenant.id, "admin");
		const zone = await h.zone();
		const res = await h.t.request("POST", "/v1/sites", {
			token: admin.token,
			body: { name: "mine", zones: [zone.name] },
		});
		expect(res.status).toBe(403);
	});
});
