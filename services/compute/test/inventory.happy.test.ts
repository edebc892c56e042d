import { releaseInstanceClaims } from "@igoudar/compute";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import {
	apiFlavor,
	apiHost,
	apiInstance,
	apiZone,
	auditOf,
	type FlavorBody,
	type GroupBody,
	type HostBody,
	type Page,
	uniqueName,
	type ZoneBody,
} from "./inventory-support";

let op: string;
const t = useTestPlatform({
	setup: async (t) => {
		op = await t.operatorToken();
	},
});

describe("zones", () => {
	it("creates, reads, lists and deletes a zone, auditing each write", async () => {
		const name = uniqueName("zone");
		const created = await t.request<ZoneBody>("POST", "/v1/zones", { token: op, body: { name, jurisdiction: "MA" } });
		expect(created.status).toBe(201);
		expect(Object.keys(created.body).sort()).toEqual(["created_at", "id", "jurisdiction", "name"]);
		expect(created.body).toMatchObject({ name, jurisdiction: "MA" });
		expect(await auditOf(t, created)).toMatchObject([
			{ action: "zone.create", targetType: "zone", targetId: created.body.id, tenantId: null, actorRole: "operator" },
		]);

		const got = await t.request<ZoneBody>("GET", `/v1/zones/${created.body.id}`, { token: op });
		expect(got.body).toEqual(created.body);

		const removed = await t.request("DELETE", `/v1/zones/${created.body.id}`, { token: op });
		expect(removed.status).toBe(204);
		expect(await auditOf(t, removed)).toMatchObject([{ action: "zone.delete", targetId: created.body.id }]);
		expect((await t.request("GET", `/v1/zones/${created.body.id}`, { token: op })).status).toBe(404);
	});

	it("lets every tenant role read zones, since tenants place instances by zone name", async () => {
		const zone = await apiZone(t, "FR");
		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		const list = await t.request<Page<ZoneBody>>("GET", "/v1/zones?limit=200", { token: viewer.token });
		expect(list.status).toBe(200);
		expect(list.body.items).toContainEqual(zone);
		const one = await t.request<ZoneBody>("GET", `/v1/zones/${zone.id}`, { token: viewer.token });
		expect(one.body).toEqual(zone);
	});

	it("pages through zones, visiting each exactly once", async () => {
		for (let i = 0; i < 5; i++) await apiZone(t);
		const all = await t.request<Page<ZoneBody>>("GET", "/v1/zones?limit=200", { token: op });
		const seen: string[] = [];
		let pageToken: string | null = null;
		do {
			const query: string = pageToken ? `?limit=2&page_token=${encodeURIComponent(pageToken)}` : "?limit=2";
			const page = await t.request<Page<ZoneBody>>("GET", `/v1/zones${query}`, { token: op });
			expect(page.body.items.length).toBeLessThanOrEqual(2);
			seen.push(...page.body.items.map((z) => z.id));
			pageToken = page.body.next_page_token;
		} while (pageToken);
		expect(seen).toEqual(all.body.items.map((z) => z.id));
		expect(new Set(seen).size).toBeGreaterThanOrEqual(5);
	});
});

describe("hosts", () => {
	it("creates a host by zone name with default ratios and shows capacity after ratios", async () => {
		const zone = await apiZone(t);
		const res = await t.request<HostBody>("POST", "/v1/hosts", {
			token: op,
			body: { name: uniqueName("host"), zone: zone.name, vcpus: 10, memory_mib: 1000, disk_gib: 100 },
		});
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({
			zone: zone.name,
			status: "enabled",
			cpu_allocation_ratio: 4,
			memory_allocation_ratio: 1,
			power_idle_w: null,
			power_max_w: null,
			capacity: { vcpus: 40, memory_mib: 1000, disk_gib: 100 },
			allocated: { vcpus: 0, memory_mib: 0, disk_gib: 0, instances: 0 },
		});
		expect(await auditOf(t, res)).toMatchObject([{ action: "host.create", targetId: res.body.id }]);
	});

	it("accepts the zone by id, and rounds capacity down after fractional ratios", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.id, {
			vcpus: 10,
			memory_mib: 1001,
			cpu_allocation_ratio: 1.55,
			memory_allocation_ratio: 1.5,
			power_idle_w: 80,
			power_max_w: 400,
		});
		expect(host).toMatchObject({ zone: zone.name, power_idle_w: 80, power_max_w: 400 });
		expect(host.capacity).toEqual({ vcpus: 15, memory_mib: 1501, disk_gib: 500 });
	});

	it("filters the list by zone (name or id) and by status", async () => {
		const zone = await apiZone(t);
		const a = await apiHost(t, zone.name);
		const b = await apiHost(t, zone.name);
		await apiHost(t, (await apiZone(t)).name);
		const patched = await t.request("PATCH", `/v1/hosts/${b.id}`, { token: op, body: { status: "disabled" } });
		expect(patched.status).toBe(200);

		const byName = await t.request<Page<HostBody>>("GET", `/v1/hosts?zone=${zone.name}`, { token: op });
		expect(byName.body.items.map((h) => h.id)).toEqual([a.id, b.id]);
		const byId = await t.request<Page<HostBody>>("GET", `/v1/hosts?zone=${zone.id}`, { token: op });
		expect(byId.body.items.map((h) => h.id)).toEqual([a.id, b.id]);
		const disabled = await t.request<Page<HostBody>>("GET", `/v1/hosts?zone=${zone.id}&status=disabled`, {
			token: op,
		});
		expect(disabled.body.items.map((h) => h.id)).toEqual([b.id]);
		const none = await t.request<Page<HostBody>>("GET", "/v1/hosts?zone=no-such-zone", { token: op });
		expect(none.body).toEqual({ items: [], next_page_token: null });
	});

	it("shows what placed instances hold, and frees the host for deletion once they are released", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name, { vcpus: 4, memory_mib: 8192, disk_gib: 100 });
		const flavor = await apiFlavor(t, { vcpus: 3, memory_mib: 3000, disk_gib: 30 });
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		const vm1 = await apiInstance(t, tenant.id, member.token, { flavor: flavor.name, zone: zone.name });
		const vm2 = await apiInstance(t, tenant.id, member.token, { flavor: flavor.name, zone: zone.name });

		const held = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(held.body.capacity).toEqual({ vcpus: 16, memory_mib: 8192, disk_gib: 100 });
		expect(held.body.allocated).toEqual({ vcpus: 6, memory_mib: 6000, disk_gib: 60, instances: 2 });

		// Lowering the cpu ratio to exactly the allocation is allowed (floor(4 * 1.5) = 6).
		const tight = await t.request<HostBody>("PATCH", `/v1/hosts/${host.id}`, {
			token: op,
			body: { cpu_allocation_ratio: 1.5, power_idle_w: 50, power_max_w: 300 },
		});
		expect(tight.status).toBe(200);
		expect(tight.body).toMatchObject({ cpu_allocation_ratio: 1.5, power_idle_w: 50, power_max_w: 300 });
		expect(tight.body.capacity.vcpus).toBe(6);
		expect(await auditOf(t, tight)).toMatchObject([{ action: "host.update", targetId: host.id }]);

		for (const vm of [vm1, vm2]) expect(await releaseInstanceClaims(t.db, vm.id, "delete")).toBe(true);
		const freed = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(freed.body.allocated).toEqual({ vcpus: 0, memory_mib: 0, disk_gib: 0, instances: 0 });
		const removed = await t.request("DELETE", `/v1/hosts/${host.id}`, { token: op });
		expect(removed.status).toBe(204);
		expect(await auditOf(t, removed)).toMatchObject([{ action: "host.delete", targetId: host.id }]);
		expect((await t.request("GET", `/v1/hosts/${host.id}`, { token: op })).status).toBe(404);
	});

	it("clears a power figure with null", async () => {
		const host = await apiHost(t, (await apiZone(t)).name, { power_idle_w: 60, power_max_w: 200 });
		const res = await t.request<HostBody>("PATCH", `/v1/hosts/${host.id}`, {
			token: op,
			body: { power_idle_w: null },
		});
		expect(res.body).toMatchObject({ power_idle_w: null, power_max_w: 200 });
	});
});

describe("flavors", () => {
	it("creates a flavor, lets tenants read it, and deletes it while unused", async () => {
		const name = uniqueName("flavor");
		const created = await t.request<FlavorBody>("POST", "/v1/flavors", {
			token: op,
			body: { name, vcpus: 2, memory_mib: 4096, disk_gib: 40 },
		});
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name, vcpus: 2, memory_mib: 4096, disk_gib: 40 });
		expect(await auditOf(t, created)).toMatchObject([{ action: "flavor.create", targetId: created.body.id }]);

		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		const list = await t.request<Page<FlavorBody>>("GET", "/v1/flavors?limit=200", { token: viewer.token });
		expect(list.body.items).toContainEqual(created.body);
		const one = await t.request<FlavorBody>("GET", `/v1/flavors/${created.body.id}`, { token: viewer.token });
		expect(one.body).toEqual(created.body);

		const removed = await t.request("DELETE", `/v1/flavors/${created.body.id}`, { token: op });
		expect(removed.status).toBe(204);
		expect(await auditOf(t, removed)).toMatchObject([{ action: "flavor.delete", targetId: created.body.id }]);
		expect((await t.request("GET", `/v1/flavors/${created.body.id}`, { token: op })).status).toBe(404);
	});
});

describe("placement groups", () => {
	it("creates, lists and reads a group with its live members, and deletes it once empty", async () => {
		const zone = await apiZone(t);
		await apiHost(t, zone.name);
		const flavor = await apiFlavor(t);
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		const viewer = await t.principal(tenant.id, "viewer");
		const base = `/v1/tenants/${tenant.id}/placement-groups`;

		const created = await t.request<GroupBody>("POST", base, {
			token: member.token,
			body: { name: "web", policy: "anti-affinity" },
		});
		expect(created.status).toBe(201);
		expect(Object.keys(created.body).sort()).toEqual(["created_at", "id", "instance_ids", "name", "policy"]);
		expect(created.body).toMatchObject({ name: "web", policy: "anti-affinity", instance_ids: [] });
		expect(await auditOf(t, created)).toMatchObject([
			{ action: "placement_group.create", tenantId: tenant.id, targetId: created.body.id, actorRole: "member" },
		]);

		const vm = await apiInstance(t, tenant.id, member.token, { flavor: flavor.name, placement_group: "web" });
		const got = await t.request<GroupBody>("GET", `${base}/${created.body.id}`, { token: viewer.token });
		expect(got.body.instance_ids).toEqual([vm.id]);
		const list = await t.request<Page<GroupBody>>("GET", base, { token: viewer.token });
		expect(list.body).toEqual({ items: [got.body], next_page_token: null });

		// A deleted instance keeps its row for billing; it must neither count nor block the delete.
		expect(await releaseInstanceClaims(t.db, vm.id, "delete")).toBe(true);
		const emptied = await t.request<GroupBody>("GET", `${base}/${created.body.id}`, { token: viewer.token });
		expect(emptied.body.instance_ids).toEqual([]);
		const removed = await t.request("DELETE", `${base}/${created.body.id}`, { token: member.token });
		expect(removed.status).toBe(204);
		expect(await auditOf(t, removed)).toMatchObject([{ action: "placement_group.delete", tenantId: tenant.id }]);
		expect((await t.request("GET", `${base}/${created.body.id}`, { token: viewer.token })).status).toBe(404);
	});

	it("scopes names per tenant: two tenants may both have a group called web", async () => {
		const [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
		for (const tenant of [a, b]) {
			const res = await t.request("POST", `/v1/tenants/${tenant.id}/placement-groups`, {
				token: op,
				body: { name: "web", policy: "affinity" },
			});
			expect(res.status).toBe(201);
		}
		const listA = await t.request<Page<GroupBody>>("GET", `/v1/tenants/${a.id}/placement-groups`, { token: op });
		expect(listA.body.items).toHaveLength(1);
	});
});

describe("placement settings", () => {
	it("starts at spread and switches to pack, auditing the change", async () => {
		const before = await t.request("GET", "/v1/placement-settings", { token: op });
		expect(before.body).toEqual({ strategy: "spread" });
		const patched = await t.request("PATCH", "/v1/placement-settings", { token: op, body: { strategy: "pack" } });
		expect(patched.status).toBe(200);
		expect(patched.body).toEqual({ strategy: "pack" });
		expect(await auditOf(t, patched)).toMatchObject([
			{ action: "placement_settings.update", detail: { from: { strategy: "spread" }, to: { strategy: "pack" } } },
		]);
		const after = await t.request("GET", "/v1/placement-settings", { token: op });
		expect(after.body).toEqual({ strategy: "pack" });
		await t.request("PATCH", "/v1/placement-settings", { token: op, body: { strategy: "spread" } });
	});
});
