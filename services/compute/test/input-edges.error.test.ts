import { randomUUID } from "node:crypto";
import { type Db, instances } from "@igoudar/db";
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

describe("inputs at the edges of the contract", () => {
	it("a NUL character anywhere is a 400, never a 500", async () => {
		const token = await t.operatorToken();
		const tenant = await t.createTenant();
		const attempts = [
			t.request("POST", "/v1/auth/token", {
				body: { grant_type: "client_credentials", client_id: "a\u0000b", client_secret: "x" },
			}),
			t.request("POST", "/v1/tenants", { token, body: { name: "nul-display", display_name: "a\u0000b" } }),
			t.request("POST", `/v1/tenants/${tenant.id}/instances`, { token, body: { name: "nul", flavor: "f\u0000" } }),
			t.request("GET", "/v1/hosts?zone=%00", { token }),
		];
		for (const res of await Promise.all(attempts)) {
			expect(res.status).toBe(400);
			expect(res.body).toMatchObject({ code: "validation_failed" });
		}
		// A NUL in a label value reaches jsonb: still a 400.
		const zone = await makeZone(db, "CV");
		await makeHost(db, zone.id, { vcpus: 8, memoryMib: 16_384 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const labelled = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
			token,
			body: { name: "nul-label", flavor: flavor.name, labels: { app: "a\u0000" } },
		});
		expect(labelled.status).toBe(400);
	});

	it("a lone surrogate or NUL in a label key or value is a 400 naming it, and nothing is claimed", async () => {
		const token = await t.operatorToken();
		const tenant = await t.createTenant();
		const zone = await makeZone(db, "CV");
		await makeHost(db, zone.id, { vcpus: 8, memoryMib: 16_384 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const before = await quotaUsed(db, tenant.id);
		const cases: [Record<string, string>, string][] = [
			[{ app: "web\ud800" }, "body/labels/app"],
			[{ app: "\udc00" }, "body/labels/app"],
			[{ tier: "a\ud83d" }, "body/labels/tier"],
			[{ "app\ud800": "web" }, "body/labels"],
			[{ "a\u0000": "web" }, "body/labels"],
		];
		for (const [labels, field] of cases) {
			const res = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
				token,
				body: { name: "labelled", flavor: flavor.name, labels },
			});
			expect(res.status, JSON.stringify(labels)).toBe(400);
			expect(res.body).toMatchObject({ code: "validation_failed", errors: [{ field }] });
		}
		expect(await db.select().from(instances).where(eq(instances.tenantId, tenant.id))).toEqual([]);
		expect(await quotaUsed(db, tenant.id)).toEqual(before);
		// An emoji (a well-formed pair) is a fine label value.
		const ok = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
			token,
			body: { name: "labelled", flavor: flavor.name, labels: { app: "web \ud83d\ude80" } },
		});
		expect(ok.status).toBe(202);
		expect(ok.body).toMatchObject({ instance: { labels: { app: "web 🚀" } } });
	});

	it("limit and other query integers are decimal only, on the compute lists too", async () => {
		const token = await t.operatorToken();
		const tenant = await t.createTenant();
		const lists = [
			"/v1/zones",
			"/v1/hosts?status=enabled",
			"/v1/flavors",
			`/v1/tenants/${tenant.id}/instances?status=running`,
			`/v1/tenants/${tenant.id}/operations?status=pending`,
			`/v1/tenants/${tenant.id}/placement-groups`,
		];
		for (const list of lists) {
			const join = list.includes("?") ? "&" : "?";
			for (const limit of ["1.5", "0x10", "1e1", "0b11"]) {
				const res = await t.request("GET", `${list}${join}limit=${limit}`, { token });
				expect(res.status, `${list} limit=${limit}`).toBe(400);
				expect(res.body).toMatchObject({ code: "validation_failed", errors: [{ field: "querystring/limit" }] });
			}
			expect((await t.request("GET", `${list}${join}limit=16`, { token })).status, list).toBe(200);
		}
		// A lone surrogate cannot be sent as UTF-8; its three-byte form is not valid UTF-8 either, and
		// whatever the query parser makes of it, it is never a 500.
		const encoded = await t.request("GET", "/v1/hosts?zone=%ED%A0%80", { token });
		expect(encoded.status).toBeLessThan(500);
	});

	it("actions that take no body refuse one", async () => {
		const token = await t.operatorToken();
		const tenant = await t.createTenant();
		for (const action of ["start", "stop", "reboot"]) {
			const res = await t.request("POST", `/v1/tenants/${tenant.id}/instances/${randomUUID()}/${action}`, {
				token,
				body: { force: true },
			});
			expect(res.status).toBe(400);
			expect(res.body).toMatchObject({ code: "validation_failed", errors: [{ field: "body" }] });
		}
		// No body, or an empty object, is fine (and here the instance does not exist).
		const bare = await t.request("POST", `/v1/tenants/${tenant.id}/instances/${randomUUID()}/stop`, { token });
		expect(bare.status).toBe(404);
	});

	it("an operator naming a tenant that does not exist gets 404 on every tenant route, lists included", async () => {
		const token = await t.operatorToken();
		const missing = randomUUID();
		for (const path of ["instances", "operations", "placement-groups", "quotas", "service-accounts"]) {
			const res = await t.request("GET", `/v1/tenants/${missing}/${path}`, { token });
			expect(res.status, path).toBe(404);
		}
	});

	it("the spec declares Idempotency-Key on every authenticated POST", async () => {
		const spec = await t.request<{
			paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
		}>("GET", "/openapi.json");
		const posts = Object.entries(spec.body.paths).filter(([path, ops]) => ops.post && path !== "/v1/auth/token");
		expect(posts.length).toBeGreaterThan(5);
		for (const [path, ops] of posts) {
			expect(
				ops.post?.parameters?.some((p) => p.in === "header" && p.name === "idempotency-key"),
				path,
			).toBe(true);
		}
	});
});
