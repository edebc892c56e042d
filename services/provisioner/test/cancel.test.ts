import type { OperationView } from "@igoudar/jobs";
import { getOperation } from "@igoudar/jobs";
import { waitFor } from "@igoudar/jobs/testing";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SimulatedDriver } from "../src/index";
import { HeldDriver } from "./held-driver";
import type { Inventory, Member } from "./support";
import {
	action,
	BASELINE,
	counters,
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
 * Deleting what is still being made: the delete is accepted, the create is cancelled and
 * compensated (by the delete, with the create's own undos), then the delete runs. Both operations
 * end, nothing is left on the data plane and nothing stays claimed, whether the create had not
 * started, was in the middle of a data-plane call, or was stuck retrying a failing step.
 */

let h: Harness;
let held: HeldDriver;
let inventory: Inventory;
let member: Member;
beforeAll(async () => {
	h = await Harness.start({ IGOUDAR_STEP_RETRY_ATTEMPTS: "50", IGOUDAR_STEP_RETRY_MAX_MS: "200" }, (db) => {
		held = new HeldDriver(new SimulatedDriver(db));
		return held;
	});
});
beforeEach(async () => {
	inventory = await makeInventory(h.db);
	member = await makeMember(h.t);
});
afterAll(async () => {
	await h?.close();
});

async function deleteNow(instanceId: string): Promise<OperationView> {
	const res = await action(h.t, member, instanceId, "delete");
	expect(res.status, JSON.stringify(res.body)).toBe(202);
	await h.relay();
	return res.body.operation;
}

async function expectCancelledAndGone(instanceId: string, createId: string, deleteId: string) {
	expect(await settled(h.t, member, deleteId)).toMatchObject({ status: "succeeded", error: null });
	expect(await settled(h.t, member, createId)).toMatchObject({
		status: "failed",
		error: { code: "cancelled", status: 409, detail: expect.stringContaining("deleted") },
	});
	expect((await getInstance(h.t, member, instanceId)).status).toBe(404);
	expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
	expect(await machine(h.db, instanceId)).toBeUndefined();
}

describe("deleting an instance whose create has not ended", () => {
	it("before the create started: both end, nothing was made, nothing is held", async () => {
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		// Not relayed: no worker has seen the create.
		const removal = await deleteNow(id);
		await expectCancelledAndGone(id, created.operation.id, removal.id);
		expect(await ledger(h.db, id)).toEqual([]);
		// The instance never ran: its lifetime shows no running time to bill.
		const events = (await h.db.execute(
			sql`select status from instance_events where instance_id = ${id} order by id`,
		)) as unknown as { rows: { status: string }[] };
		expect(events.rows.map((row) => row.status)).toEqual(["provisioning", "deleting", "deleted"]);
	});

	it("while its data-plane call is in flight: the late call is refused and leaves no machine", async () => {
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		const hold = held.holdNext("createInstance");
		await h.relay();
		await hold.entered;

		const removal = await deleteNow(id);
		await expectCancelledAndGone(id, created.operation.id, removal.id);

		// The create's worker is still waiting on the host; its call lands only now.
		hold.release();
		await hold.done;
		expect(await machine(h.db, id)).toBeUndefined();
		expect(await ledger(h.db, id)).toEqual([]);
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
	});

	it("while it is stuck retrying a step: the operation shows the retries, and the delete ends it", async () => {
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		// The machine is made, then the host keeps failing to power it on.
		await injectFault(h.db, id, "startInstance", "transient", 1_000);
		await h.relay();
		const retrying = await waitFor(
			async () => {
				const res = await h.t.request<OperationView>(
					"GET",
					`/v1/tenants/${member.tenantId}/operations/${created.operation.id}`,
					{ token: member.token },
				);
				return (res.body.retry?.attempt ?? 0) >= 2 ? res.body : undefined;
			},
			{ what: "the create to show its retries" },
		);
		expect(retrying).toMatchObject({
			status: "running",
			retry: {
				step: "power_on",
				max_attempts: 50,
				last_error: { code: "unavailable", detail: expect.any(String) },
			},
		});
		expect(Date.parse(retrying.retry?.next_attempt_at ?? "")).not.toBeNaN();
		expect(retrying.attempts).toBeGreaterThanOrEqual(2);

		const removal = await deleteNow(id);
		await expectCancelledAndGone(id, created.operation.id, removal.id);
		// Made once, removed once by the cancelled create's own undo.
		expect(await ledger(h.db, id)).toEqual(["create", "delete"]);
		expect((await getOperation(h.db, created.operation.id))?.status).toBe("failed");
	});

	it("a second delete of an instance already being deleted answers 409 invalid_state", async () => {
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		const first = await action(h.t, member, id, "delete");
		expect(first.status).toBe(202);
		const second = await action(h.t, member, id, "delete");
		expect(second.status).toBe(409);
		expect(second.body).toMatchObject({ code: "invalid_state" });
		await h.relay();
		await expectCancelledAndGone(id, created.operation.id, first.body.operation.id);
	});
});
