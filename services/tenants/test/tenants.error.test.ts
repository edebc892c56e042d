import { quotas, serviceAccounts, tenants } from "@igoudar/db";
import { encodePageToken } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { expectProblem, fieldsOf, uniqueName } from "./support";

let operator: string;

const t = useTestPlatform({
	setup: async (t) => {
		operator = await t.operatorToken();
	},
});

async function tenantsNamed(name: string): Promise<number> {
	return (await t.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, name))).length;
}

async function setUsage(tenantId: string, resource: string, used: number): Promise<void> {
	await t.db
		.update(quotas)
		.set({ used })
		.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
}

describe("tenant names are unique", () => {
	it("answers 409 conflict to a duplicate name", async () => {
		const name = uniqueName("dup");
		expect((await t.request("POST", "/v1/tenants", { token: operator, body: { name } })).status).toBe(201);
		const again = await t.request("POST", "/v1/tenants", { token: operator, body: { name, display_name: "Other" } });
		expectProblem(again, 409, "conflict");
		expect(await tenantsNamed(name)).toBe(1);
	});

	it("creates exactly one of 10 parallel creates of one name; the rest answer 409 conflict", async () => {
		const name = uniqueName("race");
		const answers = await Promise.all(
			Array.from({ length: 10 }, () => t.request("POST", "/v1/tenants", { token: operator, body: { name } })),
		);
		expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
		for (const a of answers.filter((x) => x.status !== 201)) expectProblem(a, 409, "conflict");
		expect(await tenantsNamed(name)).toBe(1);
	});

	it("answers 409 conflict to a duplicate service-account name within one tenant only", async () => {
		const [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
		const create = (tenantId: string) =>
			t.request("POST", `/v1/tenants/${tenantId}/service-accounts`, {
				token: operator,
				body: { name: "deployer", role: "member" },
			});
		expect((await create(a.id)).status).toBe(201);
		expectProblem(await create(a.id), 409, "conflict");
		// Names are per tenant: the same name elsewhere is fine.
		expect((await create(b.id)).status).toBe(201);
		const rows = await t.db.select().from(serviceAccounts).where(eq(serviceAccounts.tenantId, a.id));
		expect(rows.filter((r) => r.name === "deployer")).toHaveLength(1);
	});
});

describe("tenant deletion", () => {
	it("refuses with 409 while the tenant holds quota usage, and deletes it once usage is 0", async () => {
		const tenant = await t.createTenant();
		// Usage stands in for an owned resource: every resource holds quota while it exists.
		await setUsage(tenant.id, "volumes", 1);
		const refused = await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator });
		expectProblem(refused, 409, "conflict");
		expect((await t.request("GET", `/v1/tenants/${tenant.id}`, { token: operator })).status).toBe(200);

		await setUsage(tenant.id, "volumes", 0);
		expect((await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator })).status).toBe(204);
		expectProblem(await t.request("GET", `/v1/tenants/${tenant.id}`, { token: operator }), 404, "not_found");
		// The tenant's quota rows and accounts go with it.
		expect(await t.db.select().from(quotas).where(eq(quotas.tenantId, tenant.id))).toHaveLength(0);
	});

	it("answers 404 to deleting, reading or changing a tenant that does not exist", async () => {
		const missing = "019a0000-0000-7000-8000-0000000000aa";
		expectProblem(await t.request("DELETE", `/v1/tenants/${missing}`, { token: operator }), 404, "not_found");
		expectProblem(await t.request("GET", `/v1/tenants/${missing}`, { token: operator }), 404, "not_found");
		const patch = await t.request("PATCH", `/v1/tenants/${missing}`, { token: operator, body: { display_name: "x" } });
		expectProblem(patch, 404, "not_found");
		const quota = await t.request("PATCH", `/v1/tenants/${missing}/quotas`, {
			token: operator,
			body: { limits: { vcpus: 1 } },
		});
		expectProblem(quota, 404, "not_found");
		expectProblem(await t.request("GET", `/v1/tenants/${missing}/quotas`, { token: operator }), 404, "not_found");
		const account = await t.request("POST", `/v1/tenants/${missing}/service-accounts`, {
			token: operator,
			body: { name: "x", role: "viewer" },
		});
		expectProblem(account, 404, "not_found");
		// Nothing was created for the missing tenant.
		expect(await t.db.select().from(quotas).where(eq(quotas.tenantId, missing))).toHaveLength(0);
	});

	it("does not let a tenant admin revoke an account of another tenant through its own path", async () => {
		const [mine, theirs] = await Promise.all([t.createTenant(), t.createTenant()]);
		const [admin, victim] = await Promise.all([t.principal(mine.id, "admin"), t.principal(theirs.id, "viewer")]);
		const res = await t.request("DELETE", `/v1/tenants/${mine.id}/service-accounts/${victim.id}`, {
			token: admin.token,
		});
		expectProblem(res, 404, "not_found");
		expect((await t.request("GET", `/v1/tenants/${theirs.id}`, { token: victim.token })).status).toBe(200);
	});
});

describe("page tokens are opaque and checked", () => {
	const forged = [
		"garbage",
		"bm90LWpzb24",
		Buffer.from(JSON.stringify({ v: 2, after: "019a0000-0000-7000-8000-000000000000" })).toString("base64url"),
		Buffer.from(JSON.stringify({ v: 1, after: "' or 1=1 --" })).toString("base64url"),
		Buffer.from(JSON.stringify({ v: 1 })).toString("base64url"),
		Buffer.from("[1]").toString("base64url"),
	];
	for (const token of forged) {
		it(`refuses the forged page_token ${token.slice(0, 24)} with 400`, async () => {
			const res = await t.request("GET", `/v1/tenants?page_token=${encodeURIComponent(token)}`, { token: operator });
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res)).toContain("query/page_token");
		});
	}

	it("refuses a forged page_token on service-account lists too", async () => {
		const tenant = await t.createTenant();
		const res = await t.request("GET", `/v1/tenants/${tenant.id}/service-accounts?page_token=abc`, {
			token: operator,
		});
		expectProblem(res, 400, "validation_failed");
	});

	it("keeps a tenant principal on its own tenant even with a hand-made token", async () => {
		const [mine] = await Promise.all([t.createTenant(), t.createTenant()]);
		const viewer = await t.principal(mine.id, "viewer");
		// A well-formed token from before every id: a page that could list every tenant if unscoped.
		const start = encodePageToken("00000000-0000-0000-0000-000000000000");
		const res = await t.request<{ items: { id: string }[] }>("GET", `/v1/tenants?page_token=${start}`, {
			token: viewer.token,
		});
		expect(res.status).toBe(200);
		expect(res.body.items.map((i) => i.id)).toEqual([mine.id]);
	});
});
