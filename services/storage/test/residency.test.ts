import { type Db, snapshots, storagePools, tenants, volumes, zones } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, ne } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createVolume, makePool, makeZone, settleSnapshots, settleVolumes, tally, type VolumeBody } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

/** Every volume and snapshot of the tenant that lies in a zone of another jurisdiction: must be none. */
async function outsideJurisdiction(tenantId: string, jurisdiction: string) {
	const strayVolumes = await db
		.select({ id: volumes.id })
		.from(volumes)
		.innerJoin(zones, eq(zones.id, volumes.zoneId))
		.where(and(eq(volumes.tenantId, tenantId), ne(zones.jurisdiction, jurisdiction)));
	const straySnapshots = await db
		.select({ id: snapshots.id })
		.from(snapshots)
		.innerJoin(zones, eq(zones.id, snapshots.zoneId))
		.where(and(eq(snapshots.tenantId, tenantId), ne(zones.jurisdiction, jurisdiction)));
	return [...strayVolumes, ...straySnapshots];
}

describe("data residency: a tenant limited to MA never gets storage outside MA", () => {
	it("volumes, snapshots and restores stay in MA even when the only roomy pool is elsewhere", async () => {
		const ma = await makeZone(db, "MA");
		const fr = await makeZone(db, "FR");
		const maPool = await makePool(db, ma.id, { capacityGib: 100 });
		await makePool(db, fr.id, { capacityGib: 1_000_000 });
		const tenant = await t.createTenant({ data_residency: ["MA"] });
		const { token } = await t.principal(tenant.id, "member");
		const create = (body: Record<string, unknown>) =>
			t.request<{ volume?: VolumeBody; code?: string }>("POST", `/v1/tenants/${tenant.id}/volumes`, {
				token,
				body: { name: `v-${Math.random().toString(36).slice(2, 10)}`, ...body },
			});

		// Named outright: refused as a request the tenant may never make.
		const named = await create({ size_gib: 1, zone: fr.name });
		expect(named.status).toBe(400);
		expect(named.body.code).toBe("validation_failed");

		// Not named: 30 parallel creates of 10 GiB fill MA's 100 GiB and nothing spills to FR.
		const results = await Promise.all(Array.from({ length: 30 }, () => create({ size_gib: 10 })));
		expect(tally(results)).toEqual({ 202: 10, 503: 20 });
		for (const r of results.filter((r) => r.status === 503)) expect(r.body.code).toBe("no_capacity");
		const made = results.flatMap((r) => (r.body.volume ? [r.body.volume] : []));
		expect(new Set(made.map((v) => v.zone))).toEqual(new Set([ma.name]));
		await settleVolumes(
			db,
			made.map((v) => v.id),
		);

		// A snapshot goes to its volume's pool or nowhere: MA is full, FR has all the room.
		const first = made[0] as VolumeBody;
		const snap = await t.request<{ code: string }>("POST", `/v1/tenants/${tenant.id}/volumes/${first.id}/snapshots`, {
			token,
			body: { name: "full" },
		});
		expect(snap.status).toBe(503);
		expect(snap.body.code).toBe("no_capacity");

		// Room for one snapshot in MA; a restore then finds MA full again and is refused, not sent to FR.
		await db.update(storagePools).set({ capacityGib: 110 }).where(eq(storagePools.id, maPool.id));
		const taken = await t.request<{ snapshot: { id: string; zone: string } }>(
			"POST",
			`/v1/tenants/${tenant.id}/volumes/${first.id}/snapshots`,
			{ token, body: { name: "fits" } },
		);
		expect(taken.status).toBe(202);
		expect(taken.body.snapshot.zone).toBe(ma.name);
		await settleSnapshots(db, [taken.body.snapshot.id]);
		const restore = await create({ size_gib: 10, snapshot_id: taken.body.snapshot.id });
		expect(restore.status).toBe(503);
		expect(restore.body.code).toBe("no_capacity");
		const restoreElsewhere = await create({ size_gib: 10, snapshot_id: taken.body.snapshot.id, zone: fr.name });
		expect(restoreElsewhere.status).toBe(400);

		expect(await outsideJurisdiction(tenant.id, "MA")).toEqual([]);
	});

	it("once residency narrows, no new copy of a volume left outside it is made", async () => {
		const fr = await makeZone(db, "FR");
		await makePool(db, fr.id, { capacityGib: 1000 });
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");
		const v = await createVolume(t, tenant.id, token, { size_gib: 5, zone: fr.name });
		await settleVolumes(db, [v.id]);
		const snap = await t.request<{ snapshot: { id: string } }>(
			"POST",
			`/v1/tenants/${tenant.id}/volumes/${v.id}/snapshots`,
			{ token, body: { name: "before" } },
		);
		expect(snap.status).toBe(202);
		await settleSnapshots(db, [snap.body.snapshot.id]);

		await db
			.update(tenants)
			.set({ dataResidency: ["MA"] })
			.where(eq(tenants.id, tenant.id));
		const again = await t.request<{ code: string }>("POST", `/v1/tenants/${tenant.id}/volumes/${v.id}/snapshots`, {
			token,
			body: { name: "after" },
		});
		expect(again.status).toBe(409);
		expect(again.body.code).toBe("conflict");
		const restore = await t.request<{ code: string }>("POST", `/v1/tenants/${tenant.id}/volumes`, {
			token,
			body: { name: "restored", size_gib: 5, snapshot_id: snap.body.snapshot.id },
		});
		expect(restore.status).toBe(400);
		expect(restore.body.code).toBe("validation_failed");
	});
});
