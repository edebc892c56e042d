import { releaseInstanceClaims, transitionInstance, transitionInstances } from "@igoudar/compute";
import { type Db, instanceEvents, instances } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { asc, eq, inArray } from "drizzle-orm";
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

	it("one statement that changes many instances records one event for each changed one, with its host", async () => {
		const zone = await makeZone(db, "BJ");
		await makeHost(db, zone.id, { vcpus: 64, memoryMib: 131_072 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 1024 });
		const tenant = await t.createTenant();
		const token = await t.operatorToken();
		const ids: string[] = [];
		for (const name of ["a", "b", "c", "d"]) {
			const created = await t.request<{ instance: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
				token,
				body: { name, flavor: flavor.name },
			});
			expect(created.status).toBe(202);
			ids.push(created.body.instance.id);
		}
		const [first, second, third, fourth] = ids as [string, string, string, string];
		await transitionInstance(db, fourth, ["provisioning"], "failed");
		// One UPDATE for all four: the failed one is not provisioning, so it does not change.
		const moved = await transitionInstances(db, ids, ["provisioning"], "running");
		expect([...moved].sort()).toEqual([first, second, third].sort());
		// An UPDATE that leaves status and deletion alone records nothing.
		await db
			.update(instances)
			.set({ labels: { team: "infra" } })
			.where(inArray(instances.id, ids));
		await releaseInstanceClaims(db, third, "delete");

		const events = await db
			.select()
			.from(instanceEvents)
			.where(inArray(instanceEvents.instanceId, ids))
			.orderBy(asc(instanceEvents.id));
		const [host] = await db.select({ hostId: instances.hostId }).from(instances).where(eq(instances.id, first));
		const trail = (id: string) => events.filter((e) => e.instanceId === id).map((e) => e.status);
		expect(trail(first)).toEqual(["provisioning", "running"]);
		expect(trail(second)).toEqual(["provisioning", "running"]);
		expect(trail(third)).toEqual(["provisioning", "running", "deleted"]);
		expect(trail(fourth)).toEqual(["provisioning", "failed"]);
		expect(events.every((e) => e.tenantId === tenant.id)).toBe(true);
		expect(events.filter((e) => e.status === "running").every((e) => e.hostId === host?.hostId)).toBe(true);
	});
});
