import { auditEvents, type Db, hosts, instances, operations, quotas } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hostUsage, liveUsage, makeFlavor, makeHost, makeZone, quotaUsed } from "./fixtures";
import { auditOf, expectProblem } from "./inventory-support";

/**
 * The consistency audit through the API: drift injected by hand (counters bent, an operation
 * closed under an instance still provisioning), reported with its cause, repaired and audited.
 * No worker runs, so created instances stay `provisioning` with their create operation open.
 */

interface Drift {
	kind: string;
	tenant_id?: string;
	host_id?: string;
	instance_id?: string;
	resource?: string;
	stored?: number;
	actual?: number;
	status?: string;
	cause: string;
}
interface Report {
	checked_at: string;
	drifts: Drift[];
	counts: Record<string, number>;
}
interface Change {
	kind: string;
	tenant_id?: string;
	host_id?: string;
	instance_id?: string;
	resource?: string;
	from: number | string;
	to: number | string;
	cause: string;
}
interface Repair {
	repaired_at: string;
	changes: Change[];
	counts: Record<string, number>;
}

let db: Db;
let op: string;
const t = useTestPlatform({
	setup: async (t) => {
		db = t.db;
		op = await t.operatorToken();
	},
});

/** A tenant with three 2 vCPU / 2 GiB / 10 GiB instances on one host of its own. */
async function tenantWithInstances() {
	const zone = await makeZone(db);
	const host = await makeHost(db, zone.id, { vcpus: 64, memoryMib: 262_144 });
	const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
	const tenant = await t.createTenant();
	const member = await t.principal(tenant.id, "member");
	const ids: string[] = [];
	for (let i = 0; i < 3; i++) {
		const res = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: member.token,
			body: { name: `vm-${i}`, flavor: flavor.name, zone: zone.name },
		});
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		ids.push(res.body.instance.id);
	}
	return { tenantId: tenant.id, hostId: host.id, instanceIds: ids, member };
}

const report = () => t.request<Report>("GET", "/v1/system/consistency", { token: op });

describe("GET /v1/system/consistency", () => {
	it("reports nothing when every counter matches the live instances", async () => {
		await tenantWithInstances();
		const res = await report();
		expect(res.status).toBe(200);
		expect(res.body.drifts).toEqual([]);
		expect(res.body.counts).toEqual({ quota: 0, host: 0, stuck: 0, pool: 0 });
		expect(Date.parse(res.body.checked_at)).not.toBeNaN();
	});
});

describe("drift reported, repaired, audited", () => {
	it("reports each drift with its cause, repairs it all, audits each change, then reports none", async () => {
		const { tenantId, hostId, instanceIds, member } = await tenantWithInstances();
		const stuckId = instanceIds[0] as string;
		// A lost release (quota too high), a missed claim (host too low), and a create operation
		// closed without settling its instance.
		await db
			.update(quotas)
			.set({ used: sql`${quotas.used} + 2` })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, "instances")));
		await db.update(hosts).set({ vcpusUsed: 1 }).where(eq(hosts.id, hostId));
		await db
			.update(operations)
			.set({ status: "failed", completedAt: new Date() })
			.where(eq(operations.targetId, stuckId));
		const countersBefore = { quota: await quotaUsed(db, tenantId), host: await hostUsage(db, hostId) };

		const found = await report();
		expect(found.status).toBe(200);
		expect(found.body.counts).toEqual({ quota: 1, host: 1, stuck: 1, pool: 0 });
		expect(found.body.drifts).toEqual([
			{
				kind: "quota",
				tenant_id: tenantId,
				resource: "instances",
				stored: 5,
				actual: 3,
				cause:
					"the instances usage counter is 2 higher than the tenant's 3 live instances holding capacity: a release was lost",
			},
			{
				kind: "host",
				host_id: hostId,
				host: expect.any(String),
				resource: "vcpus",
				stored: 1,
				actual: 6,
				cause:
					"the host's vcpus allocation is 5 lower than the 6 vCPUs its 3 live instances hold: a claim was not counted",
			},
			{
				kind: "stuck",
				tenant_id: tenantId,
				instance_id: stuckId,
				host_id: hostId,
				status: "provisioning",
				since: expect.any(String),
				last_operation: {
					id: expect.any(String),
					kind: "instance.create",
					status: "failed",
					completed_at: expect.any(String),
				},
				cause: expect.stringMatching(
					/^the instance is provisioning with no operation open on it: its last operation \(instance\.create [0-9a-f-]{36}\) ended failed without settling it/,
				),
			},
		]);
		// A report changes nothing.
		expect({ quota: await quotaUsed(db, tenantId), host: await hostUsage(db, hostId) }).toEqual(countersBefore);

		const repaired = await t.request<Repair>("POST", "/v1/system/consistency/repair", { token: op });
		expect(repaired.status, JSON.stringify(repaired.body)).toBe(200);
		expect(repaired.body.counts).toEqual({ quota: 1, host: 1, stuck: 1, pool: 0 });
		expect(repaired.body.changes).toEqual([
			expect.objectContaining({ kind: "quota", tenant_id: tenantId, resource: "instances", from: 5, to: 3 }),
			expect.objectContaining({ kind: "host", host_id: hostId, resource: "vcpus", from: 1, to: 6 }),
			expect.objectContaining({ kind: "stuck", instance_id: stuckId, from: "provisioning", to: "failed" }),
		]);

		// Counters equal the recount; the stuck instance is failed and still holds its claims
		// (its machine may exist), so deleting it is what frees them.
		const live = await liveUsage(db, tenantId);
		expect(await quotaUsed(db, tenantId)).toMatchObject({ instances: live.instances, vcpus: live.vcpus });
		expect(live.instances).toBe(3);
		expect(await hostUsage(db, hostId)).toMatchObject({ vcpusUsed: 6, memoryMibUsed: 6144, instanceCount: 3 });
		const [stuck] = await db.select().from(instances).where(eq(instances.id, stuckId));
		expect(stuck).toMatchObject({ status: "failed", hostId });
		const seen = await t.request<{ status: string }>("GET", `/v1/tenants/${tenantId}/instances/${stuckId}`, {
			token: member.token,
		});
		expect(seen.body.status).toBe("failed");

		// One event per repaired unit, in the transaction that repaired it, by the operator, and
		// one for the request as a whole.
		const recorded = await auditOf(t, repaired);
		const events = recorded.filter((e) => e.action === "system.consistency.repair");
		expect(events.map((e) => [e.action, e.targetType, e.targetId, e.tenantId, e.actorRole])).toEqual([
			["system.consistency.repair", "quota", tenantId, tenantId, "operator"],
			["system.consistency.repair", "host", hostId, null, "operator"],
			["system.consistency.repair", "instance", stuckId, tenantId, "operator"],
		]);
		expect(recorded.filter((e) => e.action === "system.consistency.repair_request")).toMatchObject([
			{ targetType: "system", tenantId: null, detail: { counts: { quota: 1, host: 1, stuck: 1, pool: 0 } } },
		]);
		expect(events[0]?.detail).toEqual({ changes: [repaired.body.changes[0]] });
		expect(events[1]?.detail).toEqual({ changes: [repaired.body.changes[1]] });

		const after = await report();
		expect(after.body.drifts).toEqual([]);
		const again = await t.request<Repair>("POST", "/v1/system/consistency/repair", { token: op, body: {} });
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ changes: [], counts: { quota: 0, host: 0, stuck: 0, pool: 0 } });
		// A repair that found nothing changes nothing, and is on record as asked for.
		expect(await auditOf(t, again)).toMatchObject([
			{ action: "system.consistency.repair_request", detail: { counts: { quota: 0, host: 0, stuck: 0, pool: 0 } } },
		]);
	});

	it("replays a repair sent again with the same Idempotency-Key, repairing nothing twice", async () => {
		const { tenantId } = await tenantWithInstances();
		await db
			.update(quotas)
			.set({ used: 0 })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, "vcpus")));
		const headers = { "idempotency-key": `repair-${tenantId}` };
		const first = await t.request<Repair>("POST", "/v1/system/consistency/repair", { token: op, headers });
		expect(first.status).toBe(200);
		expect(first.body.changes).toEqual([
			expect.objectContaining({ kind: "quota", tenant_id: tenantId, resource: "vcpus", from: 0, to: 6 }),
		]);
		// Bent again: a replay answers the first response and leaves this alone.
		await db
			.update(quotas)
			.set({ used: 1 })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, "vcpus")));
		const replay = await t.request<Repair>("POST", "/v1/system/consistency/repair", { token: op, headers });
		expect(replay.status).toBe(200);
		expect(replay.headers["idempotent-replayed"]).toBe("true");
		expect(replay.body).toEqual(first.body);
		expect((await quotaUsed(db, tenantId)).vcpus).toBe(1);
		const rows = await db.select().from(auditEvents).where(eq(auditEvents.targetId, tenantId));
		expect(rows.filter((e) => e.action === "system.consistency.repair")).toHaveLength(1);
		await t.request("POST", "/v1/system/consistency/repair", { token: op });
	});
});

describe("refusals", () => {
	it("refuses a body with any field", async () => {
		const res = await t.request("POST", "/v1/system/consistency/repair", { token: op, body: { dry_run: true } });
		expectProblem(res, 400, "validation_failed");
	});

	it("answers 401 without a token and 403 to every tenant role", async () => {
		for (const [method, url] of [
			["GET", "/v1/system/consistency"],
			["POST", "/v1/system/consistency/repair"],
		] as const) {
			expectProblem(await t.request(method, url), 401, "unauthenticated");
			const tenant = await t.createTenant();
			for (const role of ["admin", "member", "viewer"] as const) {
				const { token } = await t.principal(tenant.id, role);
				expectProblem(await t.request(method, url, { token }), 403, "forbidden");
			}
		}
	});
});
