import { randomBytes } from "node:crypto";
import { instances, operations } from "@igoudar/db";
import { type InjectResult, useTestPlatform } from "@igoudar/server/testing";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { makeFlavor, makeHost, makeZone, quotaUsed, setQuota } from "./fixtures";

const CAP = 3;

let flavor: string;
// No workers run here: every accepted operation stays pending until a test ends it.
const t = useTestPlatform({
	env: { IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT: String(CAP) },
	setup: async (t) => {
		const zone = await makeZone(t.db);
		await makeHost(t.db, zone.id, { vcpus: 1_000, memoryMib: 1_000_000 });
		flavor = (await makeFlavor(t.db, { vcpus: 1, memoryMib: 512 })).name;
	},
});

interface Accepted {
	instance?: { id: string };
	operation: { id: string };
}

async function member(): Promise<{ tenantId: string; token: string }> {
	const tenant = await t.createTenant();
	await setQuota(t.db, tenant.id, { instances: 100, vcpus: 100, memory_mib: 100_000 });
	const { token } = await t.principal(tenant.id, "member");
	return { tenantId: tenant.id, token };
}

function create(tenant: { tenantId: string; token: string }, headers: Record<string, string> = {}) {
	return t.request<Accepted>("POST", `/v1/tenants/${tenant.tenantId}/instances`, {
		token: tenant.token,
		headers,
		body: { name: `vm-${randomBytes(4).toString("hex")}`, flavor },
	});
}

function expectCapped(res: InjectResult<unknown>): void {
	expect(res.status, JSON.stringify(res.body)).toBe(429);
	expect(res.body).toMatchObject({ code: "rate_limited", status: 429 });
	expect(String(res.headers["content-type"])).toContain("application/problem+json");
	expect(res.headers["retry-after"]).toBe("5");
	expect((res.body as { detail: string }).detail).toContain(`${CAP} operations in flight`);
}

/** What a worker does when an operation ends: the instance is running and the slot is free. */
async function finish(accepted: Accepted): Promise<void> {
	await t.db
		.update(operations)
		.set({ status: "succeeded", progress: 100, completedAt: new Date() })
		.where(eq(operations.id, accepted.operation.id));
	if (accepted.instance) {
		await t.db.update(instances).set({ status: "running" }).where(eq(instances.id, accepted.instance.id));
	}
}

async function openOperations(tenantId: string): Promise<number> {
	const rows = await t.db
		.select({ id: operations.id })
		.from(operations)
		.where(and(eq(operations.tenantId, tenantId), inArray(operations.status, ["pending", "running"])));
	return rows.length;
}

describe("the per-tenant cap on operations in flight", () => {
	it("refuses the next create with 429 and Retry-After, claiming nothing, and leaves other tenants alone", async () => {
		const tenant = await member();
		const accepted: Accepted[] = [];
		for (let i = 0; i < CAP; i++) {
			const res = await create(tenant);
			expect(res.status).toBe(202);
			accepted.push(res.body);
		}
		const usedBefore = await quotaUsed(t.db, tenant.tenantId);
		expectCapped(await create(tenant));
		expect(await quotaUsed(t.db, tenant.tenantId)).toEqual(usedBefore);
		expect(await openOperations(tenant.tenantId)).toBe(CAP);

		const other = await member();
		expect((await create(other)).status).toBe(202);
	});

	it("lets a refused request with an Idempotency-Key run once a slot is free, rather than replay the 429", async () => {
		const tenant = await member();
		const accepted: Accepted[] = [];
		for (let i = 0; i < CAP; i++) accepted.push((await create(tenant)).body);
		const key = { "idempotency-key": `capped-${randomBytes(4).toString("hex")}` };
		expectCapped(await create(tenant, key));

		const [first] = accepted;
		if (!first) throw new Error("no create was accepted");
		await finish(first);
		const retried = await create(tenant, key);
		expect(retried.status).toBe(202);
		expect(retried.headers["idempotent-replayed"]).toBeUndefined();
	});

	it("counts actions too, but never refuses a delete: that is the way back under the cap", async () => {
		const tenant = await member();
		const first = (await create(tenant)).body;
		await finish(first);
		const path = `/v1/tenants/${tenant.tenantId}/instances/${first.instance?.id}`;
		const provisioning: Accepted[] = [];
		for (let i = 0; i < CAP; i++) provisioning.push((await create(tenant)).body);

		const stop = await t.request("POST", `${path}/stop`, { token: tenant.token });
		expectCapped(stop);
		// The refused action changed nothing.
		const [row] = await t.db
			.select()
			.from(instances)
			.where(eq(instances.id, first.instance?.id ?? ""));
		expect(row?.status).toBe("running");

		const deleted = await t.request("DELETE", path, { token: tenant.token });
		expect(deleted.status).toBe(202);
		expect(await openOperations(tenant.tenantId)).toBe(CAP + 1);
	});

	it("holds exactly under parallel creates", async () => {
		const tenant = await member();
		const results = await Promise.all(Array.from({ length: CAP + 5 }, () => create(tenant)));
		const statuses = results.map((r) => r.status).sort();
		expect(statuses.filter((s) => s === 202)).toHaveLength(CAP);
		expect(statuses.filter((s) => s === 429)).toHaveLength(5);
		expect(await openOperations(tenant.tenantId)).toBe(CAP);
	});
});
