import { releaseInstanceClaims } from "@igoudar/compute";
import { simMachines } from "@igoudar/db";
import type { OperationView } from "@igoudar/jobs";
import { getOperation, markRunning, readSagaState } from "@igoudar/jobs";
import { silentLogger } from "@igoudar/jobs/testing";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { InstanceSaga, InstanceSagaContext } from "../src/index";
import { instanceCreateSaga, instanceStopSaga, SimulatedDriver } from "../src/index";
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
 * Faults injected into the simulated data plane (and, for the one step that touches only the
 * database, into the database) at every step, with the real workers and BullMQ retries: a
 * permanent fault is compensated at once and gives everything back, a transient one is retried
 * without repeating finished work, and steps and undos are safe to run twice.
 */

let h: Harness;
let inventory: Inventory;
let member: Member;
beforeAll(async () => {
	h = await Harness.start();
});
beforeEach(async () => {
	// A host and a tenant per test, so the counters show only that test's instances.
	inventory = await makeInventory(h.db);
	member = await makeMember(h.t);
});
afterAll(async () => {
	await h?.close();
});

/** Creates an instance, lets `prepare` inject faults for it, then lets the job run to its end. */
async function createWith(prepare: (instanceId: string) => Promise<void>, timeoutMs?: number) {
	const created = await createInstance(h.t, member, inventory);
	await prepare(created.instance.id);
	await h.relay();
	const operation = await settled(h.t, member, created.operation.id, timeoutMs);
	return { id: created.instance.id, operationId: created.operation.id, operation };
}

async function act(instanceId: string, verb: "start" | "stop" | "reboot" | "delete"): Promise<OperationView> {
	const res = await action(h.t, member, instanceId, verb);
	expect(res.status, JSON.stringify(res.body)).toBe(202);
	await h.relay();
	return settled(h.t, member, res.body.operation.id);
}

async function statusOf(instanceId: string) {
	return (await getInstance(h.t, member, instanceId)).body.status;
}

async function undone(operationId: string): Promise<string[]> {
	const row = await getOperation(h.db, operationId);
	return row ? readSagaState(row.state).undone : [];
}

/** Makes the database silently skip the instance's move to running: the success hook finds it unmoved. */
async function refuseRunning(instanceId: string): Promise<void> {
	await h.db.execute(
		sql.raw(`create or replace function test_skip_update() returns trigger language plpgsql as $$
			begin return null; end $$`),
	);
	await h.db.execute(
		sql.raw(`create trigger refuse_running_${instanceId.replaceAll("-", "")} before update on instances for each row
			when (old.id = '${instanceId}' and new.status = 'running') execute function test_skip_update()`),
	);
}

function expectNoLeak(error: unknown): void {
	expect(JSON.stringify(error)).not.toMatch(/injected|fault|machine|simulated/i);
}

describe("a permanent fault at each create step", () => {
	const cases = [
		{
			step: "define_machine",
			inject: (id: string) => injectFault(h.db, id, "createInstance", "permanent"),
			code: "internal",
			effects: [],
			undos: ["define_machine"],
		},
		{
			step: "power_on",
			inject: (id: string) => injectFault(h.db, id, "startInstance", "permanent"),
			code: "internal",
			effects: ["create", "delete"],
			undos: ["power_on", "attach_volumes", "define_machine"],
		},
		{
			step: "the move to running",
			inject: refuseRunning,
			code: "conflict",
			effects: ["create", "power_on", "power_off", "delete"],
			undos: ["power_on", "attach_volumes", "define_machine"],
		},
	];
	for (const { step, inject, code, effects, undos } of cases) {
		it(`at ${step}: the operation fails with a problem, every undo runs, nothing is held`, async () => {
			const { id, operationId, operation } = await createWith(inject);
			expect(operation.status).toBe("failed");
			expect(operation.error).toMatchObject({
				code,
				type: expect.stringContaining("https://"),
				title: expect.any(String),
			});
			expect(operation.error?.status).toBe(code === "internal" ? 500 : 409);
			if (code === "internal") expect(operation.error?.detail).toBeUndefined();
			else expect(operation.error?.detail).toBe("The instance changed state while it was being created.");
			expectNoLeak(operation.error);

			expect(await statusOf(id)).toBe("failed");
			expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
			expect(await machine(h.db, id)).toBeUndefined();
			expect(await ledger(h.db, id)).toEqual(effects);
			expect(await undone(operationId)).toEqual(undos);

			// A failed instance holds nothing and can be deleted; there is no machine left to remove.
			expect(await act(id, "delete")).toMatchObject({ status: "succeeded" });
			expect((await getInstance(h.t, member, id)).status).toBe(404);
			expect(await ledger(h.db, id)).toEqual(effects);
		});
	}
});

describe("transient faults", () => {
	it("are retried with backoff and the create succeeds with each effect once", async () => {
		const { id, operationId, operation } = await createWith(async (instanceId) => {
			await injectFault(h.db, instanceId, "createInstance", "transient");
			await injectFault(h.db, instanceId, "startInstance", "transient");
		});
		expect(operation).toMatchObject({ status: "succeeded", error: null });
		expect(await statusOf(id)).toBe("running");
		// The retry after the power_on fault resumed there: define_machine did not run again.
		expect(await ledger(h.db, id)).toEqual(["create", "power_on"]);
		expect((await getOperation(h.db, operationId))?.attempts).toBe(3);
	});

	it("that never clear end in compensation after the last attempt", async () => {
		const { id, operationId, operation } = await createWith(
			(instanceId) => injectFault(h.db, instanceId, "createInstance", "transient", 10),
			20_000,
		);
		// Out of tries, the operation says why in words the API may show; the driver's stay in the log.
		expect(operation).toMatchObject({
			status: "failed",
			error: {
				code: "unavailable",
				status: 503,
				detail: "The data plane did not answer; the step will be tried again.",
			},
			retry: null,
		});
		expectNoLeak(operation.error);
		expect((await getOperation(h.db, operationId))?.attempts).toBe(5);
		expect(await statusOf(id)).toBe("failed");
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect(await ledger(h.db, id)).toEqual([]);
	}, 30_000);
});

describe("a fault during compensation", () => {
	it("is retried until every undo has run, and each undo's effect happens once", async () => {
		const { id, operationId, operation } = await createWith(async (instanceId) => {
			await injectFault(h.db, instanceId, "startInstance", "permanent");
			// The undo of define_machine fails once; the next delivery resumes the compensation.
			await injectFault(h.db, instanceId, "deleteInstance", "transient");
		});
		expect(operation).toMatchObject({ status: "failed", error: { code: "internal" } });
		expect((await getOperation(h.db, operationId))?.attempts).toBe(2);
		expect(await undone(operationId)).toEqual(["power_on", "attach_volumes", "define_machine"]);
		expect(await ledger(h.db, id)).toEqual(["create", "delete"]);
		expect(await statusOf(id)).toBe("failed");
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
	});
});

describe("permanent faults in actions on a running instance", () => {
	it("restore the previous status; a failed delete leaves the instance failed and holding, until deleted again", async () => {
		const { id } = await createWith(async () => {});
		const held = await counters(h.db, member.tenantId, inventory.hostId);

		await injectFault(h.db, id, "stopInstance", "permanent");
		const stop = await act(id, "stop");
		expect(stop).toMatchObject({ status: "failed", error: { code: "internal" } });
		expect(await statusOf(id)).toBe("running");
		expect(await machine(h.db, id)).toMatchObject({ powerState: "on" });

		await injectFault(h.db, id, "rebootInstance", "permanent");
		expect(await act(id, "reboot")).toMatchObject({ status: "failed" });
		expect(await statusOf(id)).toBe("running");

		expect(await act(id, "stop")).toMatchObject({ status: "succeeded" });
		await injectFault(h.db, id, "startInstance", "permanent");
		expect(await act(id, "start")).toMatchObject({ status: "failed" });
		expect(await statusOf(id)).toBe("stopped");
		expect(await machine(h.db, id)).toMatchObject({ powerState: "off" });

		await injectFault(h.db, id, "deleteInstance", "permanent");
		const failedDelete = await act(id, "delete");
		expect(failedDelete).toMatchObject({ status: "failed", error: { code: "internal" } });
		expectNoLeak(failedDelete.error);
		expect(await statusOf(id)).toBe("failed");
		// Its machine may still exist, so it still holds what it claimed.
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(held);

		expect(await act(id, "delete")).toMatchObject({ status: "succeeded" });
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect(await ledger(h.db, id)).toEqual(["create", "power_on", "power_off", "delete"]);
	});

	it("marks the instance failed when its machine turns out to be gone", async () => {
		const { id } = await createWith(async () => {});
		await act(id, "stop");
		// The data plane lost the machine behind the control plane's back.
		await h.db.delete(simMachines).where(eq(simMachines.instanceId, id));
		expect(await act(id, "start")).toMatchObject({ status: "failed", error: { code: "internal" } });
		expect(await statusOf(id)).toBe("failed");
		expect(await act(id, "delete")).toMatchObject({ status: "succeeded" });
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
	});
});

describe("idempotence", () => {
	it("a create job whose instance is already gone does nothing and releases nothing twice", async () => {
		const { id: keeper } = await createWith(async () => {});
		const held = await counters(h.db, member.tenantId, inventory.hostId);
		const { id, operation } = await createWith(async (instanceId) => {
			// Something else retired the instance (and gave back its claims) before the job ran.
			await releaseInstanceClaims(h.db, instanceId, "delete");
		});
		expect(operation).toMatchObject({ status: "succeeded" });
		expect(await ledger(h.db, id)).toEqual([]);
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(held);
		expect(await statusOf(keeper)).toBe("running");
	});

	it("running a step twice does not repeat its effect, running an undo twice is harmless", async () => {
		const driver = new SimulatedDriver(h.db);
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		const run = await markRunning(h.db, created.operation.id);
		const ctx: InstanceSagaContext = {
			operationId: created.operation.id,
			tenantId: member.tenantId,
			targetId: id,
			payload: { instance_id: id },
			data: {},
			db: h.db,
			logger: silentLogger(),
			attempt: 1,
			run,
			effect: { operationId: run.id, fence: run.fence, idempotencyKey: `${run.id}/by-hand` },
			heartbeat: async () => {},
			remember: async (patch) => void Object.assign(ctx.data, patch),
		};
		const saga = instanceCreateSaga(driver, h.provisioner.storageDrivers);
		const step = (saga: InstanceSaga, name: string) => {
			const found = saga.steps.find((candidate) => candidate.name === name);
			if (!found) throw new Error(`no step ${name}`);
			return found;
		};
		for (const name of ["define_machine", "power_on"]) {
			for (let i = 0; i < 2; i++) Object.assign(ctx.data, await step(saga, name).do(ctx));
		}
		expect(await ledger(h.db, id)).toEqual(["create", "power_on"]);
		// `running` comes with the operation's success, which this direct drive of the steps skips.
		expect(await statusOf(id)).toBe("provisioning");

		// The stop saga's undo (power the machine back on), twice, on a machine that is on.
		for (let i = 0; i < 2; i++) await step(instanceStopSaga(driver), "power_off").undo(ctx);
		expect(await ledger(h.db, id)).toEqual(["create", "power_on"]);

		for (const name of ["power_on", "define_machine"]) {
			for (let i = 0; i < 2; i++) await step(saga, name).undo(ctx);
		}
		expect(await ledger(h.db, id)).toEqual(["create", "power_on", "power_off", "delete"]);
		expect(await machine(h.db, id)).toBeUndefined();
		expect(await statusOf(id)).toBe("provisioning");

		// Undos of steps that never ran, for an instance that never had a machine, do nothing.
		const other = await createInstance(h.t, member, inventory);
		const fresh: InstanceSagaContext = { ...ctx, payload: { instance_id: other.instance.id }, data: {} };
		for (const name of ["power_on", "define_machine"]) await step(saga, name).undo(fresh);
		expect(await ledger(h.db, other.instance.id)).toEqual([]);
	});
});
