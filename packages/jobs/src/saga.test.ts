import { randomUUID } from "node:crypto";
import { operations } from "@igoudar/db";
import { UnrecoverableError } from "bullmq";
import { eq, sql } from "drizzle-orm";
import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { defineJob } from "./catalog";
import type { OperationProblem } from "./operations";
import { getOperation, presentOperation } from "./operations";
import { enqueueOperation } from "./outbox";
import { RetryStepError, TransientJobError } from "./retry";
import type { Saga } from "./saga";
import { defineSaga, PermanentJobError, readSagaState } from "./saga";
import { runSaga } from "./saga-run";
import { useTestDatabase } from "./test-database";
import { silentLogger } from "./testing";
import type { JobContext } from "./worker";

const create = defineJob({
	name: "thing.create",
	queue: "things",
	payload: Type.Object({ thingId: Type.String({ format: "uuid" }) }, { additionalProperties: false }),
	attempts: 3,
	backoff: { type: "exponential", delay: 100 },
});
type Payload = { thingId: string };
type Data = { hostId: string; diskPath: string };

const database = useTestDatabase(4);
const logger = silentLogger();

async function newOperation(): Promise<string> {
	const thingId = randomUUID();
	const row = await database.db.transaction((tx) =>
		enqueueOperation(tx, {
			tenantId: randomUUID(),
			kind: "thing.create",
			targetType: "thing",
			targetId: thingId,
			job: create,
			payload: { thingId },
		}),
	);
	return row.id;
}

function delivery(operationId: string, attemptsMade = 0, maxAttempts = 3): JobContext<Payload> {
	return {
		operationId,
		name: create.name,
		queue: create.queue,
		payload: { thingId: randomUUID() },
		attemptsMade,
		maxAttempts,
		isFinalAttempt: attemptsMade + 1 >= maxAttempts,
		logger,
	};
}

/**
 * A three-step saga that records every call, with failure switches per step. Step `place`
 * returns data that `attach` relies on, to prove that data survives a resumed run.
 */
function recordingSaga() {
	const calls: string[] = [];
	const failures: { step: string; error: () => Error; times: number }[] = [];
	const failedHook: OperationProblem[] = [];
	let succeededHook = 0;
	const maybeFail = (step: string) => {
		const failure = failures.find((candidate) => candidate.step === step && candidate.times > 0);
		if (failure) {
			failure.times -= 1;
			throw failure.error();
		}
	};
	const saga: Saga<Payload, Data> = defineSaga<Payload, Data>({
		name: "thing.create",
		steps: [
			{
				name: "place",
				do: async () => {
					calls.push("do:place");
					maybeFail("place");
					return { hostId: "host-7" };
				},
				undo: async () => {
					calls.push("undo:place");
					maybeFail("undo:place");
				},
			},
			{
				name: "disk",
				do: async (ctx) => {
					calls.push(`do:disk@${ctx.data.hostId}`);
					maybeFail("disk");
					return { diskPath: `/data/${ctx.data.hostId}/disk0` };
				},
				undo: async () => {
					calls.push("undo:disk");
					maybeFail("undo:disk");
				},
			},
			{
				name: "boot",
				do: async (ctx) => {
					calls.push(`do:boot@${ctx.data.diskPath}`);
					maybeFail("boot");
					return undefined;
				},
				undo: async () => {
					calls.push("undo:boot");
					maybeFail("undo:boot");
				},
			},
		],
		onSucceeded: async () => {
			succeededHook += 1;
		},
		onFailed: async (_ctx, problem) => {
			failedHook.push(problem);
		},
	});
	return {
		saga,
		calls,
		failedHook,
		succeededHooks: () => succeededHook,
		failOn(step: string, error: () => Error, times = 1) {
			failures.push({ step, error, times });
		},
	};
}

async function stateOf(id: string) {
	const row = await getOperation(database.db, id);
	if (!row) throw new Error(`operation ${id} is gone`);
	return { row, saga: readSagaState(row.state) };
}

describe("saga runner", () => {
	it("runs every step, passes data along, reports progress and succeeds", async () => {
		const id = await newOperation();
		const { saga, calls, succeededHooks } = recordingSaga();
		expect(await runSaga(database.db, saga, delivery(id))).toBe("succeeded");
		expect(calls).toEqual(["do:place", "do:disk@host-7", "do:boot@/data/host-7/disk0"]);
		expect(succeededHooks()).toBe(1);
		const { row, saga: state } = await stateOf(id);
		expect(row).toMatchObject({ status: "succeeded", progress: 100, error: null });
		expect(state.done).toEqual(["place", "disk", "boot"]);
	});

	it("skips the steps already done when a job is re-driven", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("boot", () => new Error("hypervisor timeout"));

		// First delivery: a transient error is rethrown for BullMQ to retry, nothing is undone.
		await expect(runSaga(database.db, recorder.saga, delivery(id, 0))).rejects.toThrow("hypervisor timeout");
		const midway = await stateOf(id);
		expect(midway.row).toMatchObject({ status: "running", progress: 66 });
		expect(midway.saga.done).toEqual(["place", "disk"]);

		// The retry resumes at `boot`, with the data the skipped steps produced.
		expect(await runSaga(database.db, recorder.saga, delivery(id, 1))).toBe("succeeded");
		expect(recorder.calls).toEqual([
			"do:place",
			"do:disk@host-7",
			"do:boot@/data/host-7/disk0",
			"do:boot@/data/host-7/disk0",
		]);
		expect((await stateOf(id)).row.attempts).toBe(2);
	});

	it("undoes in reverse order, the failed step first, on a permanent failure", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("boot", () => new PermanentJobError("no_capacity", "No host has room for 64 vCPUs."));

		expect(await runSaga(database.db, recorder.saga, delivery(id, 0))).toBe("failed");
		expect(recorder.calls).toEqual([
			"do:place",
			"do:disk@host-7",
			"do:boot@/data/host-7/disk0",
			"undo:boot",
			"undo:disk",
			"undo:place",
		]);
		const problem = {
			type: "https://igoudar.dev/problems/no-capacity",
			title: "No capacity",
			status: 503,
			detail: "No host has room for 64 vCPUs.",
			code: "no_capacity",
		};
		expect(recorder.failedHook).toEqual([problem]);
		const { row, saga: state } = await stateOf(id);
		expect(presentOperation(row)).toMatchObject({ status: "failed", error: problem });
		expect(state.undone).toEqual(["boot", "disk", "place"]);
	});

	it("treats a plain UnrecoverableError as permanent, with an internal error and no detail", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("disk", () => new UnrecoverableError("disk image is corrupt"));
		expect(await runSaga(database.db, recorder.saga, delivery(id, 0))).toBe("failed");
		expect(recorder.calls.filter((call) => call.startsWith("undo:"))).toEqual(["undo:disk", "undo:place"]);
		expect((await stateOf(id)).row.error).toEqual({
			type: "https://igoudar.dev/problems/internal",
			title: "Internal error",
			status: 500,
			code: "internal",
		});
	});

	it("compensates a transient error on the last attempt instead of rethrowing it", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("boot", () => new Error("still timing out"));
		expect(await runSaga(database.db, recorder.saga, delivery(id, 2, 3))).toBe("failed");
		expect(recorder.calls.slice(-3)).toEqual(["undo:boot", "undo:disk", "undo:place"]);
		expect((await stateOf(id)).row.status).toBe("failed");
	});

	it("resumes an interrupted compensation without repeating an undo, and a finished saga stays finished", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("boot", () => new PermanentJobError("no_capacity"));
		recorder.failOn("undo:disk", () => new Error("storage node unreachable"));

		// The compensation stops at `disk`: the error goes back to BullMQ so it retries.
		await expect(runSaga(database.db, recorder.saga, delivery(id, 0))).rejects.toThrow("storage node unreachable");
		const cut = await stateOf(id);
		expect(cut.row.status).toBe("running");
		expect(cut.saga.undone).toEqual(["boot"]);
		expect(cut.saga.compensating?.code).toBe("no_capacity");

		// The re-driven job compensates: it does not go forward again and does not undo boot twice.
		expect(await runSaga(database.db, recorder.saga, delivery(id, 1))).toBe("failed");
		// And a duplicate delivery of the finished job does nothing at all.
		expect(await runSaga(database.db, recorder.saga, delivery(id, 2))).toBe("skipped");

		expect(recorder.calls).toEqual([
			"do:place",
			"do:disk@host-7",
			"do:boot@/data/host-7/disk0",
			"undo:boot",
			"undo:disk",
			"undo:disk",
			"undo:place",
		]);
		expect(recorder.failedHook).toHaveLength(1);
		expect((await stateOf(id)).row.error).toMatchObject({ code: "no_capacity" });
	});

	it("tolerates an undo that runs twice (the step undone but not yet recorded)", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("disk", () => new PermanentJobError("no_capacity"));
		// A worker died after undoing `disk` but before recording it: the state says not undone.
		expect(await runSaga(database.db, recorder.saga, delivery(id, 0))).toBe("failed");
		await database.db
			.update(operations)
			.set({ status: "running", completedAt: null, state: sql`${operations.state} || '{"undone": []}'::jsonb` })
			.where(eq(operations.id, id));
		expect(await runSaga(database.db, recorder.saga, delivery(id, 1))).toBe("failed");
		expect(recorder.calls.filter((call) => call.startsWith("undo:"))).toEqual([
			"undo:disk",
			"undo:place",
			"undo:disk",
			"undo:place",
		]);
		expect((await stateOf(id)).row.status).toBe("failed");
	});

	it("compensates an operation the reconciler abandoned", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("boot", () => new Error("worker crashed"));
		await expect(runSaga(database.db, recorder.saga, delivery(id, 0))).rejects.toThrow();
		await database.db
			.update(operations)
			.set({ state: sql`${operations.state} || '{"redrives": 6, "abandon": true}'::jsonb` })
			.where(eq(operations.id, id));
		expect(await runSaga(database.db, recorder.saga, delivery(id, 0))).toBe("failed");
		expect(recorder.calls.slice(-3)).toEqual(["undo:boot", "undo:disk", "undo:place"]);
		expect((await stateOf(id)).row.error).toMatchObject({ code: "internal" });
	});

	it("refuses two steps with one name", () => {
		const step = { name: "x", do: async () => undefined, undo: async () => {} };
		expect(() => defineSaga({ name: "dup", steps: [step, step] })).toThrow(/two steps named x/);
	});
});

describe("a compensation that cannot finish", () => {
	it("ends the operation failed through onAbandoned once the reconciler gives up, releasing nothing", async () => {
		const hooks: string[] = [];
		const saga = defineSaga<Payload, Data>({
			name: "thing.create",
			steps: [
				{
					name: "place",
					do: async () => ({ hostId: "host-1" }),
					undo: async () => {
						throw new Error("the data plane keeps refusing to tear this down");
					},
				},
				{
					name: "attach",
					do: async () => {
						throw new PermanentJobError("internal");
					},
					undo: async () => {},
				},
			],
			onFailed: async () => {
				hooks.push("failed");
			},
			onAbandoned: async (_ctx, problem) => {
				hooks.push(`abandoned:${problem.code}`);
			},
		});
		const id = await newOperation();
		// The forward run fails and its compensation fails too: the operation stays open for a retry.
		await expect(runSaga(database.db, saga, delivery(id))).rejects.toThrow(/keeps refusing/);
		expect((await getOperation(database.db, id))?.status).toBe("running");
		await expect(runSaga(database.db, saga, delivery(id, 1))).rejects.toThrow(/keeps refusing/);

		// What the reconciler writes after too many re-drives.
		await database.db
			.update(operations)
			.set({ state: sql`${operations.state} || '{"abandon": true}'::jsonb` })
			.where(eq(operations.id, id));
		expect(await runSaga(database.db, saga, delivery(id, 2))).toBe("failed");
		const ended = await getOperation(database.db, id);
		expect(ended?.status).toBe("failed");
		expect(presentOperation(ended ?? (await Promise.reject(new Error("gone")))).error?.code).toBe("internal");
		expect(hooks).toEqual(["abandoned:internal"]);
		expect(await runSaga(database.db, saga, delivery(id, 0))).toBe("skipped");
	});
});

describe("per-step retries", () => {
	it("records a transient failure in the operation and asks for a delay, then gives up after the step's tries", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("disk", () => new TransientJobError("unavailable", "The storage node did not answer."), 3);
		const retry = { attempts: 3, baseDelayMs: 1_000, maxDelayMs: 4_000 };

		const first = await runSaga(database.db, recorder.saga, delivery(id, 0, 1_000), { retry }).catch(
			(error: unknown) => error,
		);
		expect(first).toBeInstanceOf(RetryStepError);
		expect((first as RetryStepError).delayMs).toBeGreaterThanOrEqual(500);
		expect((first as RetryStepError).delayMs).toBeLessThanOrEqual(1_000);
		const view = presentOperation((await stateOf(id)).row);
		expect(view).toMatchObject({
			status: "running",
			retry: {
				step: "disk",
				attempt: 1,
				max_attempts: 3,
				last_error: { code: "unavailable", detail: "The storage node did not answer." },
			},
		});

		await expect(runSaga(database.db, recorder.saga, delivery(id, 1, 1_000), { retry })).rejects.toBeInstanceOf(
			RetryStepError,
		);
		expect(presentOperation((await stateOf(id)).row).retry?.attempt).toBe(2);
		// The third failure is the step's last try: compensate, with the error the API may show.
		expect(await runSaga(database.db, recorder.saga, delivery(id, 2, 1_000), { retry })).toBe("failed");
		const ended = presentOperation((await stateOf(id)).row);
		expect(ended).toMatchObject({ status: "failed", retry: null, error: { code: "unavailable", status: 503 } });
		expect(recorder.calls.filter((call) => call.startsWith("do:place"))).toHaveLength(1);
	});

	it("fails fast on a permanent error, without a retry", async () => {
		const id = await newOperation();
		const recorder = recordingSaga();
		recorder.failOn("place", () => new PermanentJobError("no_capacity", "No host has room."));
		expect(await runSaga(database.db, recorder.saga, delivery(id, 0, 1_000))).toBe("failed");
		expect((await stateOf(id)).row).toMatchObject({ status: "failed", attempts: 1 });
	});
});
