import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import {
	apiFlavor,
	apiHost,
	apiInstance,
	apiZone,
	auditOf,
	expectProblem,
	fieldsOf,
	type HostBody,
	uniqueName,
} from "./inventory-support";

let op: string;
const t = useTestPlatform({
	setup: async (t) => {
		op = await t.operatorToken();
	},
});

describe("who may do what", () => {
	it("keeps inventory writes, hosts and placement settings to operators", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name);
		const flavor = await apiFlavor(t);
		const refused: [string, string, unknown?][] = [
			["POST", "/v1/zones", { name: uniqueName("z"), jurisdiction: "MA" }],
			["DELETE", `/v1/zones/${zone.id}`],
			["POST", "/v1/hosts", { name: uniqueName("h"), zone: zone.name, vcpus: 1, memory_mib: 1, disk_gib: 1 }],
			["GET", "/v1/hosts"],
			["GET", `/v1/hosts/${host.id}`],
			["PATCH", `/v1/hosts/${host.id}`, { status: "disabled" }],
			["DELETE", `/v1/hosts/${host.id}`],
			["POST", "/v1/flavors", { name: uniqueName("f"), vcpus: 1, memory_mib: 1, disk_gib: 1 }],
			["DELETE", `/v1/flavors/${flavor.id}`],
			["GET", "/v1/placement-settings"],
			["PATCH", "/v1/placement-settings", { strategy: "pack" }],
		];
		for (const [method, url, body] of refused) {
			const res = await t.request(method, url, { token: admin.token, body });
			expectProblem(res, 403, "forbidden");
			expect(await auditOf(t, res)).toEqual([]);
		}
		// Nothing was changed by the refused calls.
		const still = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(still.body.status).toBe("enabled");
		expectProblem(await t.request("GET", "/v1/zones"), 401, "unauthenticated");
	});

	it("lets a viewer read placement groups but not write them", async () => {
		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		const base = `/v1/tenants/${tenant.id}/placement-groups`;
		expect((await t.request("GET", base, { token: viewer.token })).status).toBe(200);
		expectProblem(
			await t.request("POST", base, { token: viewer.token, body: { name: "g", policy: "affinity" } }),
			403,
			"forbidden",
		);
		const group = await t.request<{ id: string }>("POST", base, { token: op, body: { name: "g", policy: "affinity" } });
		expectProblem(await t.request("DELETE", `${base}/${group.body.id}`, { token: viewer.token }), 403, "forbidden");
	});

	it("never shows one tenant's placement groups to another, nor under another tenant's path", async () => {
		const [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
		const memberB = await t.principal(b.id, "member");
		const group = await t.request<{ id: string }>("POST", `/v1/tenants/${a.id}/placement-groups`, {
			token: op,
			body: { name: "db", policy: "anti-affinity" },
		});
		const inA = `/v1/tenants/${a.id}/placement-groups/${group.body.id}`;
		expectProblem(await t.request("GET", inA, { token: memberB.token }), 404, "not_found");
		expectProblem(await t.request("DELETE", inA, { token: memberB.token }), 404, "not_found");
		expectProblem(
			await t.request("GET", `/v1/tenants/${a.id}/placement-groups`, { token: memberB.token }),
			404,
			"not_found",
		);
		// Even the operator finds the group only under the tenant that owns it.
		const inB = `/v1/tenants/${b.id}/placement-groups/${group.body.id}`;
		expectProblem(await t.request("GET", inB, { token: op }), 404, "not_found");
		expectProblem(await t.request("DELETE", inB, { token: memberB.token }), 404, "not_found");
		expect((await t.request("GET", inA, { token: op })).status).toBe(200);
		const missingTenant = `/v1/tenants/${randomUUID()}/placement-groups`;
		expectProblem(await t.request("GET", missingTenant, { token: op }), 404, "not_found");
		expectProblem(
			await t.request("POST", missingTenant, { token: op, body: { name: "x", policy: "affinity" } }),
			404,
			"not_found",
		);
	});
});

describe("validation", () => {
	it("rejects unknown and server-owned fields, naming them", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name);
		const cases: [string, string, Record<string, unknown>, string][] = [
			["POST", "/v1/zones", { name: uniqueName("z"), jurisdiction: "MA", id: randomUUID() }, "body/id"],
			[
				"POST",
				"/v1/hosts",
				{ name: uniqueName("h"), zone: zone.name, vcpus: 1, memory_mib: 1, disk_gib: 1, status: "disabled" },
				"body/status",
			],
			["PATCH", `/v1/hosts/${host.id}`, { vcpus_used: 0 }, "body/vcpus_used"],
			["POST", "/v1/flavors", { name: uniqueName("f"), vcpus: 1, memory_mib: 1, disk_gib: 1, gpu: 1 }, "body/gpu"],
			["PATCH", "/v1/placement-settings", { strategy: "pack", weights: {} }, "body/weights"],
		];
		for (const [method, url, body, field] of cases) {
			const res = await t.request(method, url, { token: op, body });
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res)).toContain(field);
		}
	});

	it("rejects malformed values", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name);
		const tenant = await t.createTenant();
		const bad: [string, string, Record<string, unknown>][] = [
			["POST", "/v1/zones", { name: "Bad_Name", jurisdiction: "MA" }],
			["POST", "/v1/zones", { name: uniqueName("z"), jurisdiction: "ma" }],
			["POST", "/v1/zones", { name: uniqueName("z") }],
			["POST", "/v1/hosts", { name: uniqueName("h"), zone: zone.name, vcpus: 0, memory_mib: 1, disk_gib: 1 }],
			["POST", "/v1/hosts", { name: uniqueName("h"), zone: zone.name, vcpus: 1.5, memory_mib: 1, disk_gib: 1 }],
			[
				"POST",
				"/v1/hosts",
				{ name: uniqueName("h"), zone: zone.name, vcpus: 1, memory_mib: 1, disk_gib: 1, cpu_allocation_ratio: 0 },
			],
			["PATCH", `/v1/hosts/${host.id}`, {}],
			["PATCH", `/v1/hosts/${host.id}`, { status: "maintenance" }],
			["PATCH", `/v1/hosts/${host.id}`, { memory_allocation_ratio: -1 }],
			["POST", "/v1/flavors", { name: uniqueName("f"), vcpus: 0, memory_mib: 1, disk_gib: 1 }],
			["POST", `/v1/tenants/${tenant.id}/placement-groups`, { name: "g", policy: "spread" }],
			["PATCH", "/v1/placement-settings", { strategy: "random" }],
			["PATCH", "/v1/placement-settings", {}],
		];
		for (const [method, url, body] of bad) {
			expectProblem(await t.request(method, url, { token: op, body }), 400, "validation_failed");
		}
		const unchanged = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(unchanged.body).toEqual(host);
	});

	it("validates ids in paths as uuids", async () => {
		const tenant = await t.createTenant();
		for (const url of [
			"/v1/zones/nope",
			"/v1/hosts/123",
			"/v1/flavors/x",
			`/v1/tenants/${tenant.id}/placement-groups/x`,
		]) {
			expectProblem(await t.request("GET", url, { token: op }), 400, "validation_failed");
		}
	});

	it("requires power_max_w >= power_idle_w, also against the stored figure", async () => {
		const zone = await apiZone(t);
		const create = await t.request("POST", "/v1/hosts", {
			token: op,
			body: {
				name: uniqueName("h"),
				zone: zone.name,
				vcpus: 1,
				memory_mib: 1,
				disk_gib: 1,
				power_idle_w: 300,
				power_max_w: 200,
			},
		});
		expectProblem(create, 400, "validation_failed");
		expect(fieldsOf(create)).toContain("body/power_max_w");
		const host = await apiHost(t, zone.name, { power_idle_w: 100, power_max_w: 250 });
		const lowerMax = await t.request("PATCH", `/v1/hosts/${host.id}`, { token: op, body: { power_max_w: 99 } });
		expectProblem(lowerMax, 400, "validation_failed");
		const raiseIdle = await t.request("PATCH", `/v1/hosts/${host.id}`, { token: op, body: { power_idle_w: 251 } });
		expectProblem(raiseIdle, 400, "validation_failed");
		expect(await auditOf(t, raiseIdle)).toEqual([]);
	});

	it("answers 400 naming the zone when a host names a zone that does not exist", async () => {
		for (const zone of ["atlantis", randomUUID()]) {
			const res = await t.request("POST", "/v1/hosts", {
				token: op,
				body: { name: uniqueName("h"), zone, vcpus: 1, memory_mib: 1, disk_gib: 1 },
			});
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res)).toEqual(["body/zone"]);
		}
	});
});

describe("unknown ids", () => {
	it("answers 404 not_found for every read, change and delete of an id that does not exist", async () => {
		const tenant = await t.createTenant();
		const id = randomUUID();
		const calls: [string, string, unknown?][] = [
			["GET", `/v1/zones/${id}`],
			["DELETE", `/v1/zones/${id}`],
			["GET", `/v1/hosts/${id}`],
			["PATCH", `/v1/hosts/${id}`, { status: "disabled" }],
			["DELETE", `/v1/hosts/${id}`],
			["GET", `/v1/flavors/${id}`],
			["DELETE", `/v1/flavors/${id}`],
			["GET", `/v1/tenants/${tenant.id}/placement-groups/${id}`],
			["DELETE", `/v1/tenants/${tenant.id}/placement-groups/${id}`],
		];
		for (const [method, url, body] of calls) {
			expectProblem(await t.request(method, url, { token: op, body }), 404, "not_found");
		}
	});
});

describe("conflicts", () => {
	it("refuses duplicate names with 409 conflict, even when sent in parallel", async () => {
		const name = uniqueName("zone");
		const results = await Promise.all(
			Array.from({ length: 8 }, () =>
				t.request("POST", "/v1/zones", { token: op, body: { name, jurisdiction: "MA" } }),
			),
		);
		expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
		for (const r of results.filter((r) => r.status === 409)) {
			expectProblem(r, 409, "conflict");
			expect(await auditOf(t, r)).toEqual([]);
		}

		const host = await apiHost(t, name);
		const flavor = await apiFlavor(t);
		const tenant = await t.createTenant();
		const base = `/v1/tenants/${tenant.id}/placement-groups`;
		await t.request("POST", base, { token: op, body: { name: "g", policy: "affinity" } });
		const dupes: [string, Record<string, unknown>][] = [
			["/v1/hosts", { name: host.name, zone: name, vcpus: 1, memory_mib: 1, disk_gib: 1 }],
			["/v1/flavors", { name: flavor.name, vcpus: 1, memory_mib: 1, disk_gib: 1 }],
			[base, { name: "g", policy: "anti-affinity" }],
		];
		for (const [url, body] of dupes) expectProblem(await t.request("POST", url, { token: op, body }), 409, "conflict");
	});

	it("keeps a zone while a host stands in it", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name);
		const res = await t.request("DELETE", `/v1/zones/${zone.id}`, { token: op });
		expectProblem(res, 409, "conflict");
		expect(await auditOf(t, res)).toEqual([]);
		expect((await t.request("DELETE", `/v1/hosts/${host.id}`, { token: op })).status).toBe(204);
		expect((await t.request("DELETE", `/v1/zones/${zone.id}`, { token: op })).status).toBe(204);
	});

	it("keeps hosts, flavors and groups that live instances hold, and ratios above what they hold", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name, { vcpus: 4, memory_mib: 4096, cpu_allocation_ratio: 2 });
		const flavor = await apiFlavor(t, { vcpus: 3, memory_mib: 3000, disk_gib: 10 });
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		const base = `/v1/tenants/${tenant.id}/placement-groups`;
		const group = await t.request<{ id: string }>("POST", base, {
			token: member.token,
			body: { name: "pair", policy: "affinity" },
		});
		await apiInstance(t, tenant.id, member.token, { flavor: flavor.name, zone: zone.name, placement_group: "pair" });

		expectProblem(await t.request("DELETE", `/v1/hosts/${host.id}`, { token: op }), 409, "conflict");
		expectProblem(await t.request("DELETE", `/v1/flavors/${flavor.id}`, { token: op }), 409, "conflict");
		expectProblem(await t.request("DELETE", `${base}/${group.body.id}`, { token: member.token }), 409, "conflict");
		expectProblem(await t.request("DELETE", `/v1/zones/${zone.id}`, { token: op }), 409, "conflict");

		// 4 vcpus * 0.5 = 2 < 3 allocated; 4096 MiB * 0.7 = 2867 < 3000 allocated.
		for (const body of [{ cpu_allocation_ratio: 0.5 }, { memory_allocation_ratio: 0.7 }]) {
			const res = await t.request("PATCH", `/v1/hosts/${host.id}`, {
				token: op,
				body: { status: "disabled", ...body },
			});
			expectProblem(res, 409, "conflict");
			expect(await auditOf(t, res)).toEqual([]);
		}
		const after = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(after.body).toMatchObject({ status: "enabled", cpu_allocation_ratio: 2, memory_allocation_ratio: 1 });
		expect(after.body.allocated).toEqual({ vcpus: 3, memory_mib: 3000, disk_gib: 10, instances: 1 });
	});

	it("places nothing on a disabled host, and places again once it is enabled", async () => {
		const zone = await apiZone(t);
		const host = await apiHost(t, zone.name);
		const flavor = await apiFlavor(t);
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		await t.request("PATCH", `/v1/hosts/${host.id}`, { token: op, body: { status: "disabled" } });
		const refused = await t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: member.token,
			body: { name: uniqueName("vm"), flavor: flavor.name, zone: zone.name },
		});
		expectProblem(refused, 503, "no_capacity");
		await t.request("PATCH", `/v1/hosts/${host.id}`, { token: op, body: { status: "enabled" } });
		await apiInstance(t, tenant.id, member.token, { flavor: flavor.name, zone: zone.name });
		const after = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
		expect(after.body.allocated.instances).toBe(1);
	});

	it("never lets a host delete and a placement onto that host both succeed", async () => {
		const flavor = await apiFlavor(t);
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		for (let round = 0; round < 10; round++) {
			const zone = await apiZone(t);
			const host = await apiHost(t, zone.name);
			const [placed, deleted] = await Promise.all([
				t.request("POST", `/v1/tenants/${tenant.id}/instances`, {
					token: member.token,
					body: { name: uniqueName("vm"), flavor: flavor.name, zone: zone.name },
				}),
				// The delete is the quicker request: hold it back by a growing head start for the create,
				// so the rounds cover the delete winning, the create winning, and the two overlapping.
				sleep(round * 4).then(() => t.request("DELETE", `/v1/hosts/${host.id}`, { token: op })),
			]);
			// Exactly one wins: the placement (and the delete is refused) or the delete (and nothing fits).
			if (placed.status === 202) {
				expectProblem(deleted, 409, "conflict");
				const kept = await t.request<HostBody>("GET", `/v1/hosts/${host.id}`, { token: op });
				expect(kept.body.allocated.instances).toBe(1);
			} else {
				expect(deleted.status).toBe(204);
				expectProblem(placed, 503, "no_capacity");
			}
		}
	});
});
