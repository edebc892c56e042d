import { findConsistencyDrift } from "@igoudar/compute";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Inventory, Member } from "./support";
import {
	action,
	BASELINE,
	counters,
	createInstance,
	getInstance,
	Harness,
	ledger,
	machine,
	makeInventory,
	makeMember,
	settled,
} from "./support";

/**
 * The instance lifecycle through the API, with the real workers, sagas and simulated driver in
 * this process: every operation ends, every status is the one the contract names, and after a
 * delete nothing is held and the data plane performed each effect exactly once.
 */

let h: Harness;
// Each test has its own host, so host counters show only that test's instances.
let inventory: Inventory;
beforeAll(async () => {
	h = await Harness.start();
});
beforeEach(async () => {
	inventory = await makeInventory(h.db);
});
afterAll(async () => {
	await h?.close();
});

/** Sends the action, lets the relay enqueue it and waits for its operation to end. */
async function act(member: Member, instanceId: string, verb: "start" | "stop" | "reboot" | "delete") {
	const res = await action(h.t, member, instanceId, verb);
	expect(res.status, JSON.stringify(res.body)).toBe(202);
	expect(res.body.operation).toMatchObject({ kind: `instance.${verb}`, target_id: instanceId, status: "pending" });
	await h.relay();
	return settled(h.t, member, res.body.operation.id);
}

async function statusOf(member: Member, instanceId: string) {
	return (await getInstance(h.t, member, instanceId)).body.status;
}

describe("instance lifecycle with an in-process worker", () => {
	it("creates, stops, starts, reboots and deletes; afterwards nothing is held", async () => {
		const member = await makeMember(h.t);
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		expect(created.instance.status).toBe("provisioning");
		expect(created.operation).toMatchObject({ kind: "instance.create", status: "pending", progress: 0 });
		// Claimed before the 202, held while the instance lives.
		const held = {
			quota: { instances: 1, vcpus: 2, memory_mib: 2048 },
			host: { vcpus: 2, memoryMib: 2048, diskGib: 20, instances: 1 },
		};
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(held);

		await h.relay();
		const create = await settled(h.t, member, created.operation.id);
		expect(create).toMatchObject({ status: "succeeded", progress: 100, error: null });
		expect(create.started_at).not.toBeNull();
		expect(create.completed_at).not.toBeNull();
		expect(await statusOf(member, id)).toBe("running");
		expect(await machine(h.db, id)).toMatchObject({ hostId: inventory.hostId, powerState: "on" });

		expect(await act(member, id, "stop")).toMatchObject({ status: "succeeded", error: null });
		expect(await statusOf(member, id)).toBe("stopped");
		expect(await machine(h.db, id)).toMatchObject({ powerState: "off" });

		expect(await act(member, id, "start")).toMatchObject({ status: "succeeded" });
		expect(await statusOf(member, id)).toBe("running");

		expect(await act(member, id, "reboot")).toMatchObject({ status: "succeeded" });
		expect(await statusOf(member, id)).toBe("running");
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(held);

		expect(await act(member, id, "delete")).toMatchObject({ status: "succeeded", progress: 100 });
		expect((await getInstance(h.t, member, id)).status).toBe(404);
		const list = await h.t.request<{ items: { id: string }[] }>("GET", `/v1/tenants/${member.tenantId}/instances`, {
			token: member.token,
		});
		expect(list.body.items.map((item) => item.id)).not.toContain(id);

		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect(await machine(h.db, id)).toBeUndefined();
		expect(await ledger(h.db, id)).toEqual([
			"create",
			"power_on",
			"power_off",
			"power_on",
			"reboot",
			"power_off",
			"delete",
		]);
	});

	it("answers 409 invalid_state to an action that does not fit the status, and changes nothing", async () => {
		const member = await makeMember(h.t);
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		await h.relay();
		await settled(h.t, member, created.operation.id);

		const start = await action(h.t, member, id, "start");
		expect(start.status).toBe(409);
		expect(start.body).toMatchObject({ code: "invalid_state" });
		expect(await statusOf(member, id)).toBe("running");

		await act(member, id, "stop");
		for (const verb of ["stop", "reboot"] as const) {
			const refused = await action(h.t, member, id, verb);
			expect(refused.status, verb).toBe(409);
			expect(refused.body).toMatchObject({ code: "invalid_state" });
		}
		expect(await statusOf(member, id)).toBe("stopped");

		// Two stops racing on a running instance: one is accepted, the other refused.
		await act(member, id, "start");
		const racing = await Promise.all([action(h.t, member, id, "stop"), action(h.t, member, id, "stop")]);
		expect(racing.map((res) => res.status).sort()).toEqual([202, 409]);
		await h.relay();
		const accepted = racing.find((res) => res.status === 202);
		if (!accepted) throw new Error("no stop was accepted");
		await settled(h.t, member, accepted.body.operation.id);
		expect(await statusOf(member, id)).toBe("stopped");

		// Only the operations that were accepted exist: a refusal enqueues nothing.
		const ops = await h.t.request<{ items: { kind: string }[] }>(
			"GET",
			`/v1/tenants/${member.tenantId}/operations?target_id=${id}`,
			{ token: member.token },
		);
		expect(ops.body.items.map((op) => op.kind)).toEqual([
			"instance.create",
			"instance.stop",
			"instance.start",
			"instance.stop",
		]);
	});

	it("runs parallel creates and deletes to the end with each effect once and the counters exact", async () => {
		const member = await makeMember(h.t);
		const created = await Promise.all(Array.from({ length: 6 }, () => createInstance(h.t, member, inventory)));
		await h.relay();
		const creates = await Promise.all(created.map((c) => settled(h.t, member, c.operation.id)));
		expect(creates.map((op) => op.status)).toEqual(Array(6).fill("succeeded"));
		expect((await counters(h.db, member.tenantId, inventory.hostId)).quota).toEqual({
			instances: 6,
			vcpus: 12,
			memory_mib: 12_288,
		});
		expect((await findConsistencyDrift(h.db)).drifts).toEqual([]);

		const deletes = await Promise.all(created.map((c) => action(h.t, member, c.instance.id, "delete")));
		expect(deletes.map((res) => res.status)).toEqual(Array(6).fill(202));
		await h.relay();
		for (const res of deletes) {
			expect(await settled(h.t, member, res.body.operation.id)).toMatchObject({ status: "succeeded" });
		}
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		for (const c of created) {
			expect(await ledger(h.db, c.instance.id)).toEqual(["create", "power_on", "power_off", "delete"]);
		}
	});
});
