import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { expectProblem, fieldsOf, uniqueName } from "./support";

interface AuditEvent {
	id: string;
	tenant_id: string | null;
	actor_id: string;
	actor_role: string;
	action: string;
	target_type: string;
	target_id: string | null;
	request_id: string | null;
	source_address: string | null;
	detail: Record<string, unknown> | null;
	created_at: string;
}
interface Page {
	items: AuditEvent[];
	next_page_token: string | null;
}

let operator: string;
let tenantId: string;
let admin: { id: string; token: string };
/** The requests that wrote the tenant's trail, in order. */
const writes: { action: string; requestId: string }[] = [];

async function write(action: string, method: string, url: string, body?: unknown, headers?: Record<string, string>) {
	const res = await t.request(method, url, { token: operator, body, headers });
	expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
	writes.push({ action, requestId: String(res.headers["x-request-id"]) });
	return res;
}

async function list(url: string, token = admin.token) {
	const res = await t.request<Page>("GET", url, { token });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body;
}

const t = useTestPlatform({
	setup: async (t) => {
		operator = await t.operatorToken();
		tenantId = (await t.createTenant()).id;
		const principal = await t.principal(tenantId, "admin");
		admin = { id: principal.id, token: principal.token };
		// Capacity for an instance, and a few changes to the tenant, each its own request.
		const zone = await write("zone.create", "POST", "/v1/zones", { name: uniqueName("z"), jurisdiction: "MA" });
		await write("host.create", "POST", "/v1/hosts", {
			name: uniqueName("h"),
			zone: (zone.body as { id: string }).id,
			vcpus: 16,
			memory_mib: 32_768,
			disk_gib: 500,
		});
		const flavor = uniqueName("f");
		await write("flavor.create", "POST", "/v1/flavors", { name: flavor, vcpus: 1, memory_mib: 512, disk_gib: 10 });
		await write("quota.update", "PATCH", `/v1/tenants/${tenantId}/quotas`, { limits: { instances: 5 } });
		await write(
			"tenant.update",
			"PATCH",
			`/v1/tenants/${tenantId}`,
			{ display_name: "Audited" },
			{
				// From an address no proxy is trusted for: the header must not change what is recorded.
				"x-forwarded-for": "203.0.113.7",
			},
		);
		await write("instance.create", "POST", `/v1/tenants/${tenantId}/instances`, { name: "web-1", flavor });
	},
});

describe("a tenant's audit trail", () => {
	it("shows a tenant admin who did what, from where, with which request, newest first", async () => {
		const page = await list(`/v1/tenants/${tenantId}/audit-events?limit=200`);
		const ids = page.items.map((e) => e.id);
		expect(ids).toEqual([...ids].sort().reverse());
		const times = page.items.map((e) => e.created_at);
		expect(times).toEqual([...times].sort().reverse());
		const tenantWrites = writes.filter((w) => ["quota.update", "tenant.update", "instance.create"].includes(w.action));
		for (const w of tenantWrites) {
			const event = page.items.find((e) => e.request_id === w.requestId);
			expect(event, w.action).toMatchObject({
				tenant_id: tenantId,
				action: w.action,
				actor_role: "operator",
				source_address: "127.0.0.1",
			});
		}
		// Service account creation and the admin's own token were recorded too.
		expect(page.items.map((e) => e.action)).toEqual(expect.arrayContaining(["service_account.create", "auth.token"]));
		const token = page.items.find((e) => e.action === "auth.token");
		expect(token).toMatchObject({ actor_id: admin.id, actor_role: "admin", target_id: admin.id });
	});

	it("never shows a tenant the platform's own events, another tenant's, or a host", async () => {
		const other = await t.createTenant();
		await t.request("PATCH", `/v1/tenants/${other.id}`, { token: operator, body: { display_name: "Other" } });
		const page = await list(`/v1/tenants/${tenantId}/audit-events?limit=200`);
		expect(page.items.every((e) => e.tenant_id === tenantId)).toBe(true);
		const created = page.items.find((e) => e.action === "instance.create");
		expect(created?.detail).toBeTruthy();
		expect(JSON.stringify(created?.detail)).not.toMatch(/host/);
		// Operators see the placement in full.
		const full = await list(`/v1/tenants/${tenantId}/audit-events?action=instance.create`, operator);
		expect(full.items[0]?.detail).toHaveProperty("host_id");
	});

	it("pages through the trail without gaps or repeats", async () => {
		const all = await list(`/v1/tenants/${tenantId}/audit-events?limit=200`);
		expect(all.items.length).toBeGreaterThanOrEqual(5);
		const seen: string[] = [];
		let next: string | null = "";
		let pages = 0;
		while (next !== null) {
			const query: string = next ? `limit=2&page_token=${encodeURIComponent(next)}` : "limit=2";
			const page = await list(`/v1/tenants/${tenantId}/audit-events?${query}`);
			expect(page.items.length).toBeLessThanOrEqual(2);
			seen.push(...page.items.map((e) => e.id));
			next = page.next_page_token;
			pages++;
		}
		expect(seen).toEqual(all.items.map((e) => e.id));
		expect(pages).toBe(Math.ceil(all.items.length / 2));
	});

	it("filters by action, actor, target and time window", async () => {
		const base = `/v1/tenants/${tenantId}/audit-events`;
		const byAction = await list(`${base}?action=quota.update`);
		expect(byAction.items.map((e) => e.action)).toEqual(["quota.update"]);
		const byActor = await list(`${base}?actor_id=${admin.id}`);
		expect(byActor.items.length).toBeGreaterThan(0);
		expect(byActor.items.every((e) => e.actor_id === admin.id)).toBe(true);
		const byTarget = await list(`${base}?target_id=${tenantId}`);
		expect(new Set(byTarget.items.map((e) => e.action))).toEqual(
			new Set(["tenant.create", "quota.update", "tenant.update"]),
		);
		const [newest] = (await list(`${base}?limit=1`)).items;
		if (!newest) throw new Error("no events");
		const at = encodeURIComponent(newest.created_at);
		expect((await list(`${base}?from=${at}`)).items.map((e) => e.id)).toContain(newest.id);
		expect((await list(`${base}?to=${at}`)).items.map((e) => e.id)).not.toContain(newest.id);
		const later = encodeURIComponent(new Date(Date.parse(newest.created_at) + 60_000).toISOString());
		expect((await list(`${base}?from=${later}`)).items).toEqual([]);
		const combined = await list(`${base}?action=tenant.update&actor_id=${admin.id}`);
		expect(combined.items).toEqual([]);
	});

	it("refuses malformed filters with 400 naming them", async () => {
		const base = `/v1/tenants/${tenantId}/audit-events`;
		for (const [query, field] of [
			["from=yesterday", "querystring/from"],
			["to=2026-01-01", "querystring/to"],
			["from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "querystring/to"],
			["action=Tenant.Create", "querystring/action"],
			["actor_id=", "querystring/actor_id"],
			["limit=1.5", "querystring/limit"],
			["since=2026-01-01T00:00:00Z", "querystring/since"],
		]) {
			const res = await t.request("GET", `${base}?${query}`, { token: admin.token });
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res), query).toContain(field);
		}
	});
});

describe("who may read it", () => {
	it("refuses members and viewers of the tenant, and hides it from other tenants", async () => {
		for (const role of ["member", "viewer"] as const) {
			const { token } = await t.principal(tenantId, role);
			expectProblem(await t.request("GET", `/v1/tenants/${tenantId}/audit-events`, { token }), 403, "forbidden");
		}
		const stranger = await t.principal((await t.createTenant()).id, "admin");
		const res = await t.request("GET", `/v1/tenants/${tenantId}/audit-events`, { token: stranger.token });
		expectProblem(res, 404, "not_found");
	});

	it("keeps the platform-wide trail to operators, with the platform's own events in it", async () => {
		expectProblem(await t.request("GET", "/v1/audit-events", { token: admin.token }), 403, "forbidden");
		const page = await list("/v1/audit-events?limit=200", operator);
		const platformOnly = page.items.filter((e) => e.tenant_id === null).map((e) => e.action);
		expect(platformOnly).toEqual(expect.arrayContaining(["zone.create", "host.create", "flavor.create"]));
		const zone = page.items.find((e) => e.action === "zone.create");
		expect(zone?.request_id).toBe(writes.find((w) => w.action === "zone.create")?.requestId);
		expect(new Set(page.items.map((e) => e.tenant_id)).size).toBeGreaterThan(2);
	});
});
