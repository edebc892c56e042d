import { randomUUID } from "node:crypto";
import { operations, outbox } from "@igoudar/db";
import { eq } from "drizzle-orm";
import { Type } from "typebox";
import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import { defineJob, JobPayloadError } from "./catalog";
import {
	cancelOpenOperations,
	fail,
	getOperation,
	listOperations,
	markRunning,
	OperationSchema,
	OperationTransitionError,
	operationProblem,
	presentOperation,
	reportProgress,
	SupersededRunError,
	succeed,
	takeOverRun,
} from "./operations";
import { enqueueOperation } from "./outbox";
import { useTestDatabase } from "./test-database";

const volumeCreate = defineJob({
	name: "volume.create",
	queue: "storage",
	payload: Type.Object({ volumeId: Type.String({ format: "uuid" }) }, { additionalProperties: false }),
	attempts: 3,
	backoff: { type: "exponential", delay: 1_000 },
});

const database = useTestDatabase(6);
const tenantId = randomUUID();

function newOperation(targetId = randomUUID(), tenant = tenantId) {
	return database.db.transaction((tx) =>
		enqueueOperation(tx, {
			tenantId: tenant,
			kind: "volume.create",
			targetType: "volume",
			targetId,
			job: volumeCreate,
			payload: { volumeId: targetId },
		}),
	);
}

async function refusal(promise: Promise<unknown>): Promise<OperationTransitionError> {
	const error = await promise.then(
		() => undefined,
		(reason: unknown) => reason,
	);
	expect(error).toBeInstanceOf(OperationTransitionError);
	return error as OperationTransitionError;
}

describe("enqueueOperation", () => {
	it("writes a pending operation and its outbox row in the caller's transaction", async () => {
		const operation = await newOperation();
		expect(operation.status).toBe("pending");
		const rows = await database.db.select().from(outbox).where(eq(outbox.operationId, operation.id));
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ queue: "storage", jobName: "volume.create", relayedAt: null });
		expect(rows[0]?.payload).toEqual({ volumeId: operation.targetId });
	});

	it("leaves nothing behind when the caller's transaction rolls back", async () => {
		const targetId = randomUUID();
		await expect(
			database.db.transaction(async (tx) => {
				await enqueueOperation(tx, {
					tenantId,
					kind: "volume.create",
					targetType: "volume",
					targetId,
					job: volumeCreate,
					payload: { volumeId: targetId },
				});
				throw new Error("the resource insert failed");
			}),
		).rejects.toThrow("the resource insert failed");
		expect(await database.db.select().from(operations).where(eq(operations.targetId, targetId))).toHaveLength(0);
	});

	it("refuses a payload that does not match the catalog schema, before writing", async () => {
		const targetId = randomUUID();
		const attempt = database.db.transaction((tx) =>
			enqueueOperation(tx, {
				tenantId,
				kind: "volume.create",
				targetType: "volume",
				targetId,
				job: volumeCreate,
				payload: { volumeId: "not-a-uuid" },
			}),
		);
		await expect(attempt).rejects.toBeInstanceOf(JobPayloadError);
		expect(await database.db.select().from(operations).where(eq(operations.targetId, targetId))).toHaveLength(0);
	});
});

describe("operation state machine", () => {
	it("walks pending -> running -> succeeded and stamps the times", async () => {
		const { id } = await newOperation();
		const running = await markRunning(database.db, id);
		expect(running).toMatchObject({ status: "running", attempts: 1 });
		expect(running.startedAt).toBeInstanceOf(Date);
		const progressed = await reportProgress(database.db, running, 40, { done: ["a"] });
		expect(progressed).toMatchObject({ progress: 40, state: { done: ["a"] } });
		expect(progressed.updatedAt.getTime()).toBeGreaterThanOrEqual(running.updatedAt.getTime());
		const done = await succeed(database.db, running);
		expect(done).toMatchObject({ status: "succeeded", progress: 100, error: null });
		expect(done.completedAt).toBeInstanceOf(Date);
	});

	it("resumes a running operation without resetting started_at, under a newer fencing token", async () => {
		const { id } = await newOperation();
		const first = await markRunning(database.db, id);
		const again = await markRunning(database.db, id);
		expect(again.attempts).toBe(2);
		expect(again.startedAt?.getTime()).toBe(first.startedAt?.getTime());
		expect(again.fence).toBeGreaterThan(first.fence);
	});

	it("refuses every write of a superseded run, and lets the run that owns it finish", async () => {
		const { id } = await newOperation();
		const stale = await markRunning(database.db, id);
		const current = await markRunning(database.db, id);
		// Started one at a time: a rejection nobody awaits yet would surface as unhandled.
		for (const write of [
			() => reportProgress(database.db, stale, 50, { done: ["a"] }),
			() => succeed(database.db, stale),
			() => fail(database.db, stale, operationProblem("internal")),
		]) {
			const error = await refusal(write());
			expect(error).toBeInstanceOf(SupersededRunError);
			expect(error.current).toBe("running");
		}
		expect((await getOperation(database.db, id))?.state).toEqual({});
		expect(await succeed(database.db, current)).toMatchObject({ status: "succeeded" });
	});

	it("fences runs of any operation in the order they started", async () => {
		const a = await markRunning(database.db, (await newOperation()).id);
		const b = await markRunning(database.db, (await newOperation()).id);
		const a2 = await markRunning(database.db, a.id);
		expect(b.fence).toBeGreaterThan(a.fence);
		expect(a2.fence).toBeGreaterThan(b.fence);
	});

	it("cancels the open operations of a target: the running one is superseded and marked to compensate", async () => {
		const target = randomUUID();
		const running = await markRunning(database.db, (await newOperation(target)).id);
		const pending = await newOperation(target);
		const ended = await markRunning(database.db, (await newOperation(target)).id);
		await succeed(database.db, ended);
		const cancelled = await cancelOpenOperations(database.db, target, "Deleted while being made.");
		expect(cancelled.sort()).toEqual([running.id, pending.id].sort());
		expect(await refusal(reportProgress(database.db, running, 10))).toBeInstanceOf(SupersededRunError);
		for (const id of cancelled) {
			expect((await getOperation(database.db, id))?.state).toMatchObject({
				compensating: { code: "cancelled", status: 409, detail: "Deleted while being made." },
			});
		}
		expect((await getOperation(database.db, ended.id))?.status).toBe("succeeded");
	});

	it("lets a run of a later operation take over an earlier one, never the other way round", async () => {
		const target = randomUUID();
		const earlier = await markRunning(database.db, (await newOperation(target)).id);
		const later = await markRunning(database.db, (await newOperation(target)).id);
		const taken = await takeOverRun(database.db, earlier.id, later);
		expect(taken?.fence).toBe(later.fence);
		expect(await refusal(reportProgress(database.db, earlier, 10))).toBeInstanceOf(SupersededRunError);
		await reportProgress(database.db, { id: earlier.id, fence: later.fence }, 10);
		// A newer delivery of the earlier operation's own job takes it back; the older token cannot.
		const back = await markRunning(database.db, earlier.id);
		expect(await takeOverRun(database.db, earlier.id, later)).toBeUndefined();
		expect((await getOperation(database.db, earlier.id))?.fence).toBe(back.fence);
	});

	it("merges state instead of replacing it", async () => {
		const { id } = await newOperation();
		const run = await markRunning(database.db, id);
		await reportProgress(database.db, run, undefined, { done: ["a"], data: { hostId: "h1" } });
		const row = await reportProgress(database.db, run, undefined, { undone: ["a"] });
		expect(row.state).toEqual({ done: ["a"], data: { hostId: "h1" }, undone: ["a"] });
	});

	it("refuses to finish an operation that never ran", async () => {
		const { id } = await newOperation();
		const run = { id, fence: 0 };
		expect((await refusal(succeed(database.db, run))).current).toBe("pending");
		expect((await refusal(fail(database.db, run, operationProblem("internal")))).current).toBe("pending");
		expect((await refusal(reportProgress(database.db, run, 10))).current).toBe("pending");
	});

	it("refuses every move out of a terminal status", async () => {
		const succeeded = await markRunning(database.db, (await newOperation()).id);
		await succeed(database.db, succeeded);
		const failed = await markRunning(database.db, (await newOperation()).id);
		await fail(database.db, failed, operationProblem("no_capacity", "No host has room."));

		for (const run of [succeeded, failed]) {
			await refusal(markRunning(database.db, run.id));
			await refusal(succeed(database.db, run));
			await refusal(fail(database.db, run, operationProblem("internal")));
			await refusal(reportProgress(database.db, run, 50));
		}
		const { id: succeededId } = succeeded;
		const { id: failedId } = failed;
		expect((await getOperation(database.db, failedId))?.status).toBe("failed");
		expect((await getOperation(database.db, succeededId))?.status).toBe("succeeded");
	});

	it("lets exactly one of two racing terminal transitions win", async () => {
		for (let round = 0; round < 10; round++) {
			const { id } = await newOperation();
			const run = await markRunning(database.db, id);
			const outcomes = await Promise.allSettled([
				succeed(database.db, run),
				fail(database.db, run, operationProblem("internal")),
			]);
			expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
			const row = await getOperation(database.db, id);
			const winner = outcomes[0].status === "fulfilled" ? "succeeded" : "failed";
			expect(row?.status).toBe(winner);
		}
	});

	it("names an operation that does not exist", async () => {
		const error = await refusal(markRunning(database.db, randomUUID()));
		expect(error.current).toBeUndefined();
	});
});

describe("reading operations", () => {
	it("lists a tenant's operations by id, filtered, a page at a time", async () => {
		const tenant = randomUUID();
		const target = randomUUID();
		const created = [];
		for (let i = 0; i < 5; i++) created.push(await newOperation(i < 3 ? target : randomUUID(), tenant));
		await newOperation(target); // another tenant's: never listed
		const first = created[0];
		if (!first) throw new Error("no operation");
		await markRunning(database.db, first.id);

		const all = await listOperations(database.db, tenant, { limit: 10 });
		expect(all.map((row) => row.id)).toEqual(created.map((row) => row.id));
		const page1 = await listOperations(database.db, tenant, { limit: 2 });
		const page2 = await listOperations(database.db, tenant, { limit: 2, after: page1[1]?.id });
		expect([...page1, ...page2].map((row) => row.id)).toEqual(created.slice(0, 4).map((row) => row.id));
		expect(await listOperations(database.db, tenant, { limit: 10, targetId: target })).toHaveLength(3);
		expect((await listOperations(database.db, tenant, { limit: 10, status: "running" })).map((row) => row.id)).toEqual([
			first.id,
		]);
		expect(await getOperation(database.db, first.id, { tenantId: randomUUID() })).toBeUndefined();
		expect((await getOperation(database.db, first.id, { tenantId: tenant }))?.id).toBe(first.id);
	});

	it("presents the API.md wire shape, which the schema accepts", async () => {
		const { id } = await newOperation();
		const pending = await getOperation(database.db, id);
		if (!pending) throw new Error("no operation");
		const view = presentOperation(pending);
		expect(view).toEqual({
			id,
			kind: "volume.create",
			target_type: "volume",
			target_id: pending.targetId,
			status: "pending",
			progress: 0,
			error: null,
			attempts: 0,
			retry: null,
			created_at: pending.createdAt.toISOString(),
			started_at: null,
			completed_at: null,
		});
		expect(Value.Check(OperationSchema, view)).toBe(true);

		const run = await markRunning(database.db, id);
		const failed = presentOperation(await fail(database.db, run, operationProblem("no_capacity", "No host has room.")));
		expect(failed.error).toEqual({
			type: "https://igoudar.dev/problems/no-capacity",
			title: "No capacity",
			status: 503,
			detail: "No host has room.",
			code: "no_capacity",
		});
		expect(failed.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
		expect(Value.Check(OperationSchema, failed)).toBe(true);
	});

	it("never shows the detail of an internal error", () => {
		expect(operationProblem("internal", "connection to 10.0.0.7 refused")).toEqual({
			type: "https://igoudar.dev/problems/internal",
			title: "Internal error",
			status: 500,
			code: "internal",
		});
	});
});
