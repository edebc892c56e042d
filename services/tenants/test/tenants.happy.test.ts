import { BUILTIN_QUOTA_DEFAULTS, quotas, serviceAccounts, tenants } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";

interface Page<T> {
	items: T[];
	next_page_token: string | null;
}
type QuotaList = { items: { resource: string; limit: number; used: number }[] };

const t = useTestPlatform();

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

describe("tenants: listing", () => {
	it("pages through more tenants than the limit, visiting each exactly once", async () => {
		const token = await t.operatorToken();
		await Promise.all(Array.from({ length: 5 }, () => t.createTenant()));
		const expected = (await t.db.select({ id: tenants.id }).from(tenants)).map((r) => r.id).sort();
		expect(expected.length).toBeGreaterThanOrEqual(6);

		const seen: string[] = [];
		let pageToken: string | null = null;
		let pages = 0;
		do {
			const query: string = pageToken ? `?limit=2&page_token=${encodeURIComponent(pageToken)}` : "?limit=2";
			const page = await t.request<Page<{ id: string }>>("GET", `/v1/tenants${query}`, { token });
			expect(page.status).toBe(200);
			expect(page.body.items.length).toBeLessThanOrEqual(2);
			seen.push(...page.body.items.map((i) => i.id));
			pageToken = page.body.next_page_token;
			pages++;
		} while (pageToken && pages < 100);
		expect(seen).toHaveLength(expected.length);
		expect([...seen].sort()).toEqual(expected);
		expect(pages).toBe(Math.ceil(expected.length / 2));
	});

	it("shows a tenant principal only its own tenant", async () => {
		const [mine] = await Promise.all([t.createTenant(), t.createTenant()]);
		const viewer = await t.principal(mine.id, "viewer");
		const list = await t.request<Page<{ id: string }>>("GET", "/v1/tenants", { token: viewer.token });
		expect(list.status).toBe(200);
		expect(list.body.items.map((i) => i.id)).toEqual([mine.id]);
		expect(list.body.next_page_token).toBeNull();
	});
});

describe("service accounts: happy paths", () => {
	it("creates an account whose secret is returned once, works, and is stored only as a hash", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const created = await t.request<{ id: string; client_id: string; client_secret: string; role: string }>(
			"POST",
			`/v1/tenants/${tenant.id}/service-accounts`,
			{ token: admin.token, body: { name: "ci-bot", role: "member" } },
		);
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name: "ci-bot", role: "member", tenant_id: tenant.id });
		expect(created.body.client_secret).toMatch(/^igs_/);

		const [row] = await t.db.select().from(serviceAccounts).where(eq(serviceAccounts.id, created.body.id));
		expect(row?.secretHash).toMatch(/^scrypt\$/);
		// Not in any column, in any form that a database dump would show.
		expect(JSON.stringify(row)).not.toContain(created.body.client_secret);
		expect(JSON.stringify(row)).not.toContain(created.body.client_secret.slice(4));

		const token = await t.token(created.body.client_id, created.body.client_secret);
		expect((await t.request("GET", `/v1/tenants/${tenant.id}`, { token })).status).toBe(200);

		const list = await t.request<Page<Record<string, unknown>>>("GET", `/v1/tenants/${tenant.id}/service-accounts`, {
			token: admin.token,
		});
		expect(list.status).toBe(200);
		expect(list.body.items.map((i) => i.name).sort()).toEqual([expect.stringMatching(/^admin-/), "ci-bot"].sort());
		for (const item of list.body.items) expect(Object.keys(item)).not.toContain("client_secret");
		expect(JSON.stringify(list.body)).not.toContain(created.body.client_secret);
		expect(JSON.stringify(list.body)).not.toContain("scrypt");
	});

	it("keeps a new secret out of every table, even when the create carried an Idempotency-Key", async () => {
		const tenant = await t.createTenant();
		const url = `/v1/tenants/${tenant.id}/service-accounts`;
		const body = { name: "keyed-bot", role: "viewer" };
		const headers = { "idempotency-key": "create-keyed-bot" };
		const token = await t.operatorToken();
		const created = await t.request<{ id: string; client_id: string; client_secret: string }>("POST", url, {
			token,
			body,
			headers,
		});
		expect(created.status).toBe(201);
		expect(await tablesContaining(created.body.client_secret)).toEqual([]);

		// A replay answers for the same account, but the secret was shown once and is gone.
		const replay = await t.request<Record<string, unknown>>("POST", url, { token, body, headers });
		expect(replay.status).toBe(201);
		expect(replay.headers["idempotent-replayed"]).toBe("true");
		expect(replay.body).toMatchObject({ id: created.body.id, client_id: created.body.client_id });
		expect(replay.body).not.toHaveProperty("client_secret");
		expect(await t.token(created.body.client_id, created.body.client_secret)).toBeTruthy();
	});

	it("revokes an account, which then leaves the list", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const bot = await t.principal(tenant.id, "viewer");
		const revoked = await t.request("DELETE", `/v1/tenants/${tenant.id}/service-accounts/${bot.id}`, {
			token: admin.token,
		});
		expect(revoked.status).toBe(204);
		const list = await t.request<Page<{ id: string }>>("GET", `/v1/tenants/${tenant.id}/service-accounts`, {
			token: admin.token,
		});
		expect(list.body.items.map((i) => i.id)).toEqual([admin.id]);
		const again = await t.request("DELETE", `/v1/tenants/${tenant.id}/service-accounts/${bot.id}`, {
			token: admin.token,
		});
		expect(again.status).toBe(404);
	});
});

describe("quotas: happy paths", () => {
	it("lets an operator set a limit below usage; the answer shows both", async () => {
		const token = await t.operatorToken();
		const tenant = await t.createTenant();
		await t.db
			.update(quotas)
			.set({ used: 8 })
			.where(and(eq(quotas.tenantId, tenant.id), eq(quotas.resource, "vcpus")));
		const res = await t.request<QuotaList>("PATCH", `/v1/tenants/${tenant.id}/quotas`, {
			token,
			body: { limits: { vcpus: 4, instances: 2 } },
		});
		expect(res.status).toBe(200);
		expect(res.body.items.find((q) => q.resource === "vcpus")).toEqual({ resource: "vcpus", limit: 4, used: 8 });
		expect(res.body.items.find((q) => q.resource === "instances")).toEqual({
			resource: "instances",
			limit: 2,
			used: 0,
		});
		// Untouched resources keep their limits.
		const memory = res.body.items.find((q) => q.resource === "memory_mib");
		expect(memory?.limit).toBe(BUILTIN_QUOTA_DEFAULTS.memory_mib);
		// Nothing was released or deleted: usage is still 8.
		const [row] = await t.db
			.select()
			.from(quotas)
			.where(and(eq(quotas.tenantId, tenant.id), eq(quotas.resource, "vcpus")));
		expect(row?.used).toBe(8);
	});

	it("gives NEW tenants the operator's default limits, leaving existing tenants alone", async () => {
		const token = await t.operatorToken();
		const before = await t.createTenant();
		const defaults = await t.request<{ items: { resource: string; limit: number }[] }>("PATCH", "/v1/quota-defaults", {
			token,
			body: { limits: { vcpus: 7, snapshots: 3 } },
		});
		expect(defaults.status).toBe(200);
		expect(defaults.body.items).toContainEqual({ resource: "vcpus", limit: 7 });
		expect((await t.request("GET", "/v1/quota-defaults", { token })).body).toEqual(defaults.body);

		const after = await t.createTenant();
		const fresh = await t.request<QuotaList>("GET", `/v1/tenants/${after.id}/quotas`, { token });
		expect(fresh.body.items.find((q) => q.resource === "vcpus")?.limit).toBe(7);
		expect(fresh.body.items.find((q) => q.resource === "snapshots")?.limit).toBe(3);
		expect(fresh.body.items.find((q) => q.resource === "instances")?.limit).toBe(BUILTIN_QUOTA_DEFAULTS.instances);
		const old = await t.request<QuotaList>("GET", `/v1/tenants/${before.id}/quotas`, { token });
		expect(old.body.items.find((q) => q.resource === "vcpus")?.limit).toBe(BUILTIN_QUOTA_DEFAULTS.vcpus);
		// Restore, so the other tests in this file keep the built-in defaults.
		await t.request("PATCH", "/v1/quota-defaults", {
			token,
			body: { limits: { vcpus: BUILTIN_QUOTA_DEFAULTS.vcpus, snapshots: BUILTIN_QUOTA_DEFAULTS.snapshots } },
		});
	});

	it("lets a tenant viewer read its quotas", async () => {
		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		const res = await t.request<QuotaList>("GET", `/v1/tenants/${tenant.id}/quotas`, { token: viewer.token });
		expect(res.status).toBe(200);
		expect(res.body.items).toHaveLength(6);
		for (const q of res.body.items) expect(q.used).toBe(0);
	});
});

/** Tables with a row whose text form contains `needle`: a secret must never appear in one. */
async function tablesContaining(needle: string): Promise<string[]> {
	// The handle is generic over drivers, so `execute` is untyped; the harness always runs node-postgres.
	const query = async <Row>(statement: ReturnType<typeof sql>) =>
		((await t.db.execute(statement)) as unknown as { rows: Row[] }).rows;
	const tables = await query<{ name: string }>(
		sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
	);
	expect(tables.map((r) => r.name)).toEqual(expect.arrayContaining(["service_accounts", "idempotency_records"]));
	const hits: string[] = [];
	for (const { name } of tables) {
		const found = await query(
			sql`select 1 from ${sql.identifier(name)} as r where strpos(r::text, ${needle}) > 0 limit 1`,
		);
		if (found.length > 0) hits.push(name);
	}
	return hits;
}
