import { auditEvents, type Db, quotas, storagePools } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createVolume, makePool, makeZone, poolAllocation, quotaUsed, recountStorage, settleVolumes } from "./fixtures";

let db: Db;
let operator: string;
const t = useTestPlatform({
	setup: async (t) => {
		db = t.db;
		operator = await t.operatorToken();
	},
});

interface Report {
	drifts: Record<string, unknown>[];
	counts: Record<string, number>;
}
interface Repair {
	changes: Record<string, unknown>[];
	counts: Record<string, number>;
}

describe("storage in the consistency audit", () => {
	it("reports drift of storage quotas and pool allocation with its cause, repairs it, audits it", async () => {
		const zone = await makeZone(db);
		const pool = await makePool(db, zone.id, { capacityGib: 1000 });
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");
		const volume = await createVolume(t, tenant.id, token, { size_gib: 8, zone: zone.name });
		await settleVolumes(db, [volume.id]);
		const snap = await t.request("POST", `/v1/tenants/${tenant.id}/volumes/${volume.id}/snapshots`, {
			token,
			body: { name: "s" },
		});
		expect(snap.status).toBe(202);

		const clean = await t.request<Report>("GET", "/v1/system/consistency", { token: operator });
		expect(clean.status).toBe(200);
		expect(clean.body.drifts).toEqual([]);
		expect(clean.body.counts).toEqual({ quota: 0, host: 0, stuck: 0, pool: 0 });

		// Bend the counters, as a lost release would.
		await db.update(storagePools).set({ allocatedGib: 30 }).where(eq(storagePools.id, pool.id));
		await db
			.update(quotas)
			.set({ used: 20 })
			.where(and(eq(quotas.tenantId, tenant.id), eq(quotas.resource, "volume_gib")));
		const found = await t.request<Report>("GET", "/v1/system/consistency", { token: operator });
		expect(found.body.counts).toEqual({ quota: 1, host: 0, stuck: 0, pool: 1 });
		expect(found.body.drifts).toEqual(
			expect.arrayContaining([
				{
					kind: "quota",
					tenant_id: tenant.id,
					resource: "volume_gib",
					stored: 20,
					actual: 8,
					cause: expect.stringContaining("12 higher"),
				},
				{
					kind: "pool",
					pool_id: pool.id,
					pool: pool.name,
					stored: 30,
					actual: 16,
					cause: expect.stringMatching(/14 higher than the 16 GiB its 1 live volume and 1 snapshot hold/),
				},
			]),
		);

		const repaired = await t.request<Repair>("POST", "/v1/system/consistency/repair", { token: operator, body: {} });
		expect(repaired.status).toBe(200);
		expect(repaired.body.counts).toEqual({ quota: 1, host: 0, stuck: 0, pool: 1 });
		expect(repaired.body.changes).toEqual(
			expect.arrayContaining([
				expect.objectContaining({ kind: "quota", resource: "volume_gib", from: 20, to: 8 }),
				expect.objectContaining({ kind: "pool", pool_id: pool.id, from: 30, to: 16 }),
			]),
		);
		expect(await poolAllocation(db, pool.id)).toEqual({ stored: 16, actual: 16 });
		expect(await quotaUsed(db, tenant.id)).toMatchObject(await recountStorage(db, tenant.id));
		const events = await db
			.select()
			.from(auditEvents)
			.where(and(eq(auditEvents.action, "system.consistency.repair"), eq(auditEvents.targetType, "storage_pool")));
		expect(events.map((e) => e.targetId)).toEqual([pool.id]);

		const after = await t.request<Report>("GET", "/v1/system/consistency", { token: operator });
		expect(after.body.drifts).toEqual([]);
	});
});
