import { randomUUID } from "node:crypto";
import { simLedger } from "@igoudar/db";
import { inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MachineNotFoundError, SimulatedDriver, StaleFenceError } from "../src/index";
import type { Inventory, Member } from "./support";
import {
	createInstance,
	getInstance,
	Harness,
	injectFault,
	ledger,
	machine,
	makeInventory,
	makeMember,
	settled,
} from "./support";

/**
 * Instance runs in flight together share their statements: the operation writes, the saga's
 * reads and the simulated data plane's calls go as one batch per kind. What must hold is what
 * holds one run at a time: every machine made and started once, each call's fence and key
 * judged on its own, and a fault that belongs to one create failing that create alone.
 */

let h: Harness;
beforeAll(async () => {
	h = await Harness.start({ IGOUDAR_COMPUTE_CONCURRENCY: "64" });
});
afterAll(async () => {
	await h?.close();
});

async function createMany(perTenant: number, tenants: number) {
	const owners: { member: Member; inventory: Inventory }[] = [];
	for (let i = 0; i < tenants; i++)
		owners.push({ member: await makeMember(h.t), inventory: await makeInventory(h.db) });
	const created = await Promise.all(
		owners.flatMap((owner) =>
			Array.from({ length: perTenant }, async () => ({
				owner,
				...(await createInstance(h.t, owner.member, owner.inventory)),
			})),
		),
	);
	await h.relay();
	return created;
}

describe("creates carried together", () => {
	it("make and start every machine once, and each instance ends running", async () => {
		const created = await createMany(10, 4);
		for (const { owner, operation, instance } of created) {
			expect((await settled(h.t, owner.member, operation.id, 30_000)).status).toBe("succeeded");
			expect((await getInstance(h.t, owner.member, instance.id)).body.status).toBe("running");
			expect(await ledger(h.db, instance.id)).toEqual(["create", "power_on"]);
			expect((await machine(h.db, instance.id))?.powerState).toBe("on");
		}
	});

	it("a fault set for one create fails that create alone, rolled back; the others run", async () => {
		const owner = { member: await makeMember(h.t), inventory: await makeInventory(h.db) };
		const created = await Promise.all(
			Array.from({ length: 10 }, () => createInstance(h.t, owner.member, owner.inventory)),
		);
		const [unlucky] = created;
		if (!unlucky) throw new Error("no create");
		await injectFault(h.db, unlucky.instance.id, "startInstance", "permanent");
		await h.relay();
		for (const { operation, instance } of created) {
			const ended = await settled(h.t, owner.member, operation.id, 30_000);
			if (instance.id === unlucky.instance.id) {
				expect(ended.status).toBe("failed");
				expect(await ledger(h.db, instance.id)).toEqual(["create", "delete"]);
				expect((await getInstance(h.t, owner.member, instance.id)).body.status).toBe("failed");
			} else {
				expect(ended.status).toBe("succeeded");
				expect(await ledger(h.db, instance.id)).toEqual(["create", "power_on"]);
			}
		}
	});
});

describe("the simulated data plane's batched calls", () => {
	it("judge each call's fence and key on its own", async () => {
		const driver = new SimulatedDriver(h.db);
		const inventory = await makeInventory(h.db);
		const ids = Array.from({ length: 8 }, () => randomUUID());
		const spec = (instanceId: string) => ({
			instanceId,
			hostId: inventory.hostId,
			vcpus: 2,
			memoryMib: 2048,
			diskGib: 20,
		});
		const call = (instanceId: string, fence: number, step = "define_machine/do") => ({
			operationId: instanceId,
			fence,
			idempotencyKey: `${instanceId}/${step}`,
		});
		const [fenced, ...rest] = ids as [string, ...string[]];
		// A later run has already reached `fenced`: a call with an older fence must be refused.
		await driver.createInstance(spec(fenced), call(fenced, 1_000));
		const first = await Promise.allSettled([
			driver.createInstance(spec(fenced), call(fenced, 10, "other/do")),
			...rest.map((id) => driver.createInstance(spec(id), call(id, 10))),
		]);
		expect(first[0]?.status === "rejected" && first[0].reason).toBeInstanceOf(StaleFenceError);
		expect(first.slice(1).every((outcome) => outcome.status === "fulfilled")).toBe(true);
		// The same calls again (a resumed step): recognised by their keys, nothing done twice.
		await Promise.all(rest.map((id) => driver.createInstance(spec(id), call(id, 10))));
		const effects = await h.db.select().from(simLedger).where(inArray(simLedger.instanceId, ids));
		expect(effects.filter((row) => row.effect === "create")).toHaveLength(8);

		const missing = randomUUID();
		const starts = await Promise.allSettled([
			driver.startInstance(missing, call(missing, 10, "power_on/do")),
			...rest.map((id) => driver.startInstance(id, call(id, 11, "power_on/do"))),
		]);
		expect(starts[0]?.status === "rejected" && starts[0].reason).toBeInstanceOf(MachineNotFoundError);
		expect(starts.slice(1).every((outcome) => outcome.status === "fulfilled")).toBe(true);
		for (const id of rest) expect(await ledger(h.db, id)).toEqual(["create", "power_on"]);
	});
});
