import {
	type ConsistencyRepair,
	findConsistencyDrift,
	releaseInstanceClaims,
	repairConsistencyDrift,
	systemAudit,
} from "@igoudar/compute";
import { type Db, hosts, instances, quotas } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { liveUsage, makeFlavor, makeHost, makeZone, quotaUsed, setQuota } from "./fixtures";

/**
 * Repairs racing real traffic. A repair recounts a tenant under its quota row locks and a host
 * under its row lock, the locks every claim and release takes, so it can neither miss a claim in
 * flight nor write a stale count over one: the counters must equal a SQL recount afterwards, and
 * a repair running through traffic with no drift must change nothing.
 */

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

async function setup(tenantCount: number) {
	const zone = await makeZone(db);
	const host = await makeHost(db, zone.id, { vcpus: 512, memoryMib: 1_048_576 });
	const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
	const tenants: { id: string; token: string }[] = [];
	for (let i = 0; i < tenantCount; i++) {
		const tenant = await t.createTenant();
		await setQuota(db, tenant.id, { instances: 100, vcpus: 1000, memory_mib: 1_000_000 });
		tenants.push({ id: tenant.id, token: (await t.principal(tenant.id, "member")).token });
	}
	return { zone: zone.name, hostId: host.id, flavor: flavor.name, tenants };
}

async function create(tenant: { id: string; token: string }, body: { flavor: string; zone: string }) {
	const res = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
		token: tenant.token,
		body: { name: `vm-${Math.random().toString(36).slice(2, 10)}`, ...body },
	});
	expect(res.status, JSON.stringify(res.body)).toBe(202);
	return res.body.instance.id;
}

/** The host's counters against a recount of the live instances on it, in SQL. */
async function hostAgainstRecount(hostId: string) {
	const [stored] = await db
		.select({
			vcpus: hosts.vcpusUsed,
			memory: hosts.memoryMibUsed,
			disk: hosts.diskGibUsed,
			count: hosts.instanceCount,
		})
		.from(hosts)
		.where(eq(hosts.id, hostId));
	const [recount] = await db
		.select({
			vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
			memory: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
			disk: sql<number>`coalesce(sum(${instances.diskGib}), 0)::int`,
			count: sql<number>`count(*)::int`,
		})
		.from(instances)
		.where(and(eq(instances.hostId, hostId), isNull(instances.deletedAt), isNotNull(instances.hostId)));
	return { stored, recount };
}

async function quotaAgainstRecount(tenantId: string) {
	const used = await quotaUsed(db, tenantId);
	const live = await liveUsage(db, tenantId);
	return {
		stored: { instances: used.instances, vcpus: used.vcpus, memory_mib: used.memory_mib },
		recount: { instances: live.instances, vcpus: live.vcpus, memory_mib: live.memory },
	};
}

const repairThroughApi = async (token: string) => {
	const res = await t.request<ConsistencyRepair>("POST", "/v1/system/consistency/repair", { token });
	expect(res.status, JSON.stringify(res.body)).toBe(200);
	return res.body;
};

describe("repair under concurrent instance creates", () => {
	it("leaves every counter equal to a SQL recount, with the injected drift corrected", async () => {
		const { zone, hostId, flavor, tenants } = await setup(2);
		const [first, second] = tenants as [{ id: string; token: string }, { id: string; token: string }];
		for (const tenant of tenants) await create(tenant, { flavor, zone });
		// Bent by hand before the traffic starts: a lost release on one tenant, a missed claim on the host.
		await db
			.update(quotas)
			.set({ used: sql`${quotas.used} + 7` })
			.where(and(eq(quotas.tenantId, first.id), eq(quotas.resource, "vcpus")));
		await db.update(hosts).set({ instanceCount: 0 }).where(eq(hosts.id, hostId));

		const operator = await t.operatorToken();
		const creates = tenants.flatMap((tenant) => Array.from({ length: 12 }, () => create(tenant, { flavor, zone })));
		const repairs = Array.from({ length: 4 }, () => repairThroughApi(operator));
		const [repairResults] = await Promise.all([Promise.all(repairs), Promise.all(creates)]);

		const changes = repairResults.flatMap((repair) => repair.changes);
		expect(changes).toContainEqual(
			expect.objectContaining({ kind: "quota", tenant_id: first.id, resource: "vcpus", to: expect.any(Number) }),
		);
		expect(changes).toContainEqual(expect.objectContaining({ kind: "host", host_id: hostId, resource: "instances" }));
		// Each correction removed exactly the 7 bent vCPUs, whatever the creates did around it.
		for (const change of changes.filter((c) => c.kind === "quota")) {
			expect(change).toMatchObject({ tenant_id: first.id, resource: "vcpus" });
			expect(Number(change.from) - Number(change.to)).toBe(7);
		}
		for (const tenant of [first, second]) {
			const { stored, recount } = await quotaAgainstRecount(tenant.id);
			expect(stored).toEqual(recount);
			expect(recount.instances).toBe(13);
		}
		const host = await hostAgainstRecount(hostId);
		expect(host.stored).toEqual(host.recount);
		expect(host.recount?.count).toBe(26);
		expect((await findConsistencyDrift(db)).drifts).toEqual([]);
	});

	it("finds and changes nothing while creates and releases run in parallel with no drift", async () => {
		const { zone, hostId, flavor, tenants } = await setup(2);
		let running = true;
		const repairs: ConsistencyRepair[] = [];
		const loop = (async () => {
			while (running) repairs.push(await repairConsistencyDrift(db, await findConsistencyDrift(db), systemAudit));
		})();
		const churn = tenants.flatMap((tenant) =>
			Array.from({ length: 6 }, async () => {
				const id = await create(tenant, { flavor, zone });
				await releaseInstanceClaims(db, id, "delete");
				await create(tenant, { flavor, zone });
			}),
		);
		try {
			await Promise.all(churn);
		} finally {
			running = false;
			await loop;
		}

		// A change here would be a torn read, and writing it would have made the drift real.
		expect(repairs.length).toBeGreaterThan(0);
		expect(repairs.flatMap((repair) => repair.changes)).toEqual([]);
		for (const tenant of tenants) {
			const { stored, recount } = await quotaAgainstRecount(tenant.id);
			expect(stored).toEqual(recount);
			expect(recount).toEqual({ instances: 6, vcpus: 12, memory_mib: 12_288 });
		}
		const host = await hostAgainstRecount(hostId);
		expect(host.stored).toEqual(host.recount);
	});
});
