import { computeJobs } from "@igoudar/compute";
import { operations } from "@igoudar/db";
import type { JobContext } from "@igoudar/jobs";
import { getOperation, Reconciler, redisConnectionFactory, runSaga } from "@igoudar/jobs";
import { deleteKeys, silentLogger } from "@igoudar/jobs/testing";
import { eq, sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { InstancePayload } from "../src/index";
import { instanceCreateSaga, SimulatedDriver } from "../src/index";
import { HeldDriver } from "./held-driver";
import type { Inventory, Member } from "./support";
import {
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
 * Two runs of one operation at once: a worker whose data-plane call is still in flight while
 * another delivery of the same job (a lost BullMQ lock, a re-drive) runs the operation to its end.
 * The superseded run must stop at its next write and its late call must change nothing: above
 * all, no machine may appear after the operation was compensated and its claims released.
 */

let h: Harness;
let held: HeldDriver;
let inventory: Inventory;
let member: Member;
beforeAll(async () => {
	h = await Harness.start({}, (db) => {
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

function delivery(operationId: string, instanceId: string, attemptsMade: number): JobContext<InstancePayload> {
	return {
		operationId,
		name: "instance.create",
		queue: computeJobs["instance.create"].queue,
		payload: { instance_id: instanceId },
		attemptsMade,
		maxAttempts: 5,
		isFinalAttempt: false,
		logger: silentLogger(),
	};
}

describe("a superseded run of an operation", () => {
	it("cannot create a machine after another run compensated the create and released its claims", async () => {
		// Not relayed: the workers never see this job; the test delivers it twice by hand.
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		const opId = created.operation.id;
		const saga = instanceCreateSaga(held, h.provisioner.storageDrivers);

		// Run A reaches the data plane and its create is held in flight.
		const hold = held.holdNext("createInstance");
		const runA = runSaga(h.db, saga, delivery(opId, id, 0));
		await hold.entered;

		// Run B (a second delivery) creates the machine, is refused power, and compensates.
		await injectFault(h.db, id, "startInstance", "permanent");
		expect(await runSaga(h.db, saga, delivery(opId, id, 1))).toBe("failed");
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect(await machine(h.db, id)).toBeUndefined();

		// Run A's create now reaches the host, long after the compensation.
		hold.release();
		await hold.done;
		await runA.catch(() => "stopped");

		expect(await machine(h.db, id)).toBeUndefined();
		expect(await ledger(h.db, id)).toEqual(["create", "delete"]);
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect((await getOperation(h.db, opId))?.status).toBe("failed");
		expect((await getInstance(h.t, member, id)).body.status).toBe("failed");
	});

	it("re-added by the reconciler while its first run is still going: one run finishes, the other leaves nothing", async () => {
		const created = await createInstance(h.t, member, inventory);
		const id = created.instance.id;
		const opId = created.operation.id;
		const hold = held.holdNext("createInstance");
		await injectFault(h.db, id, "startInstance", "permanent");
		await h.relay();
		// A real worker runs the job and its create is held in flight.
		await hold.entered;

		// Redis loses the job (a restart without persistence), the operation looks stalled, and the
		// reconciler re-adds it: a second worker slot runs it while the first still holds its call.
		const redis = new Redis(h.t.config.redisUrl);
		try {
			await deleteKeys(redis, `${h.t.config.redisPrefix}:*`);
		} finally {
			redis.disconnect();
		}
		await h.db.update(operations).set({ updatedAt: sql`now() - interval '1 hour'` }).where(eq(operations.id, opId));
		const reconciler = new Reconciler({
			db: h.db,
			catalog: computeJobs,
			connection: redisConnectionFactory(h.t.config.redisUrl),
			prefix: h.t.config.redisPrefix,
			logger: silentLogger(),
			staleAfterMs: 60_000,
		});
		try {
			expect(await reconciler.reconcileOnce()).toMatchObject({ redriven: 1 });
		} finally {
			await reconciler.stop();
		}
		const operation = await settled(h.t, member, opId);
		expect(operation).toMatchObject({ status: "failed", error: { code: "internal" } });

		// The first run's create lands only now.
		hold.release();
		await hold.done;

		expect(await machine(h.db, id)).toBeUndefined();
		expect(await ledger(h.db, id)).toEqual(["create", "delete"]);
		expect(await counters(h.db, member.tenantId, inventory.hostId)).toEqual(BASELINE);
		expect((await getInstance(h.t, member, id)).body.status).toBe("failed");
	});
});
