import { releaseInstanceClaims, transitionInstance } from "@igoudar/compute";
import { type Db, instanceEvents } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { asc, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { makeFlavor, makeHost, makeZone } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

describe("instance lifetimes, the ground truth for usage and billing", () => {
	it("every status an instance passes through is recorded in order, ending with its deletion", async () => {
		const zone = await makeZone(db, "BJ");
		await makeHost(db, zone.id, { vcpus: 8, memoryMib: 16_384 });
		const flavor = await makeFlavor(db, { vcpus: 2, memoryMib: 2048 });
		const tenant = await t.createTenant();
		const created = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: await t.operatorToken(),
			body: { name: "billed", flavor: flavor.name },
		});
		expect(created.status).toBe(202);
		const id = created.body.instance.id;
		// What the sagas do, step by step; a refused transition leaves no event.
		await transitionInstance(db, id, ["provisioning"], "running");
		expect(await transitionInstance(db, id, ["stopped"], "starting")).toBeUndefined();
		await transitionInstance(db, id, ["running"], "stopping");
		await transitionInstance(db, id, ["stopping"], "stopped");
		await transitionInstance(db, id, ["stopped"], "deleting");
		await releaseInstanceClaims(db, id, "delete");

		const events = await db
			.select()
			.from(instanceEvents)
			.where(eq(instanceEvents.instanceId, id))
			.orderBy(asc(instanceEvents.id));
		expect(events.map((e) => e.status)).toEqual([
			"provisioning",
			"running",
			"stopping",
			"stopped",
			"deleting",
			"deleted",
		]);
		expect(events.every((e) => e.tenantId === tenant.id)).toBe(true);
		const times = events.map((e) => e.at.getTime());
		expect([...times].sort((a, b) => a - b)).toEqual(times);
	});
});
