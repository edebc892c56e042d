import { releaseInstanceClaims } from "@igoudar/compute";
import { hosts, quotas } from "@igoudar/db";
import { TestPlatform } from "@igoudar/server/testing";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageReport } from "../src/index";
import { reconcileUsage } from "../src/index";
import { counters, createInstance, makeInventory, makeMember } from "./support";

/**
 * The usage reconciler against counters made by the real create path (no worker: the instances
 * stay provisioning, which holds their claims just the same).
 */

let t: TestPlatform;
beforeAll(async () => {
	t = await TestPlatform.start();
});
afterAll(async () => {
	await t?.close();
});

describe("reconcileUsage", () => {
	it("finds nothing to correct when the counters match the live instances", async () => {
		const inventory = await makeInventory(t.db);
		const member = await makeMember(t);
		for (let i = 0; i < 3; i++) await createInstance(t, member, inventory);
		expect(await reconcileUsage(t.db)).toEqual({ quotas: [], hosts: [], corrected: true });
	});

	it("reports drift exactly, changes nothing when asked only to report, and corrects it otherwise", async () => {
		const inventory = await makeInventory(t.db);
		const member = await makeMember(t);
		const first = await createInstance(t, member, inventory);
		await createInstance(t, member, inventory);
		// One instance given back behind the counters' back, and two counters bent by hand.
		await t.db.execute(sql`update instances set host_id = null where id = ${first.instance.id}`);
		await t.db
			.update(quotas)
			.set({ used: sql`${quotas.used} + 5` })
			.where(and(eq(quotas.tenantId, member.tenantId), eq(quotas.resource, "vcpus")));
		await t.db.update(hosts).set({ diskGibUsed: 0 }).where(eq(hosts.id, inventory.hostId));
		const before = await counters(t.db, member.tenantId, inventory.hostId);

		const expected: Omit<UsageReport, "corrected"> = {
			quotas: [
				{ tenantId: member.tenantId, resource: "instances", stored: 2, actual: 1 },
				{ tenantId: member.tenantId, resource: "memory_mib", stored: 4096, actual: 2048 },
				{ tenantId: member.tenantId, resource: "vcpus", stored: 9, actual: 2 },
			],
			hosts: [
				{ hostId: inventory.hostId, field: "vcpus_used", stored: 4, actual: 2 },
				{ hostId: inventory.hostId, field: "memory_mib_used", stored: 4096, actual: 2048 },
				{ hostId: inventory.hostId, field: "disk_gib_used", stored: 0, actual: 20 },
				{ hostId: inventory.hostId, field: "instance_count", stored: 2, actual: 1 },
			],
		};
		expect(await reconcileUsage(t.db, { reportOnly: true })).toEqual({ ...expected, corrected: false });
		expect(await counters(t.db, member.tenantId, inventory.hostId)).toEqual(before);

		expect(await reconcileUsage(t.db)).toEqual({ ...expected, corrected: true });
		expect(await counters(t.db, member.tenantId, inventory.hostId)).toEqual({
			quota: { instances: 1, vcpus: 2, memory_mib: 2048 },
			host: { vcpus: 2, memoryMib: 2048, diskGib: 20, instances: 1 },
		});
		expect(await reconcileUsage(t.db, { reportOnly: true })).toMatchObject({ quotas: [], hosts: [] });
	});

	it("never sees drift that is not there while creates and releases run in parallel", async () => {
		const inventory = await makeInventory(t.db);
		const members = [await makeMember(t), await makeMember(t)];
		let running = true;
		const reports: UsageReport[] = [];
		const recount = (async () => {
			while (running) reports.push(await reconcileUsage(t.db));
		})();
		const churn = members.flatMap((member) =>
			// Five each: at most ten at once, the default instance quota.
			Array.from({ length: 5 }, async () => {
				const created = await createInstance(t, member, inventory);
				await releaseInstanceClaims(t.db, created.instance.id, "delete");
				await createInstance(t, member, inventory);
			}),
		);
		await Promise.all(churn);
		running = false;
		await recount;

		// A report of drift here would be a torn read, and its correction would have made it real.
		expect(reports.length).toBeGreaterThan(0);
		expect(reports.filter((report) => report.quotas.length > 0 || report.hosts.length > 0)).toEqual([]);
		for (const member of members) {
			expect((await counters(t.db, member.tenantId, inventory.hostId)).quota).toEqual({
				instances: 5,
				vcpus: 10,
				memory_mib: 10_240,
			});
		}
		expect(await reconcileUsage(t.db, { reportOnly: true })).toMatchObject({ quotas: [], hosts: [] });
	});
});
