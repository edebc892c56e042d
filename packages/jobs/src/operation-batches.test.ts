import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { defineJob } from "./catalog";
import { OperationBatches } from "./operation-batches";
import { getOperation, markRunning, OperationTransitionError, SupersededRunError } from "./operations";
import { enqueueOperation } from "./outbox";
import { defineSaga, PermanentJobError, readSagaState } from "./saga";
import { runSaga } from "./saga-run";
import { useTestDatabase } from "./test-database";
import { silentLogger } from "./testing";
import type { JobContext } from "./worker";

/**
 * The saga runner's writes group-committed across concurrent runs: each run must see exactly what
 * its own one-statement write would have told it (owned, superseded, ended), and a saga that
 * settles successes in batches must fail only the runs it refused.
 */

const job = defineJob({
	name: "widget.create",
	queue: "widgets",
	payload: Type.Object({ widgetId: Type.String({ format: "uuid" }) }, { additionalProperties: false }),
	attempts: 3,
	backoff: { type: "exponential", delay: 100 },
});
type Payload = { widgetId: string };

const database = useTestDatabase(6);
const logger = silentLogger();

async function newOperations(count: number): Promise<{ id: string; widgetId: string }[]> {
	return Promise.all(
		Array.from({ length: count }, async () => {
			const widgetId = randomUUID();
			const row = await database.db.transaction((tx) =>
				enqueueOperation(tx, {
					tenantId: randomUUID(),
					kind: job.name,
					targetType: "widget",
					targetId: widgetId,
					job,
					payload: { widgetId },
				}),
			);
			return { id: row.id, widgetId };
		}),
	);
}

function delivery(operationId: string, widgetId: string): JobContext<Payload> {
	return {
		operationId,
		name: job.name,
		queue: job.queue,
		payload: { widgetId },
		attemptsMade: 0,
		maxAttempts: 3,
		isFinalAttempt: false,
		logger,
	};
}

describe("OperationBatches", () => {
	it("starts many runs in few statements, each with its own fence, and refuses an ended one", async () => {
		const batches = new OperationBatches(database.db);
		const ops = await newOperations(30);
		const [ended] = await newOperations(1);
		if (!ended) throw new Error("no operation");
		await database.db.execute(`update operations set status = 'failed' where id = '${ended.id}'`);
		const outcomes = await Promise.allSettled([...ops, ended].map((op) => batches.markRunning(op.id)));
		const rows = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
		expect(rows).toHaveLength(30);
		expect(new Set(rows.map((row) => row.fence)).size).toBe(30);
		expect(rows.every((row) => row.status === "running" && row.attempts === 1)).toBe(true);
		const refused = outcomes[30];
		expect(refused?.status === "rejected" && refused.reason).toBeInstanceOf(OperationTransitionError);
		expect(batches.stats().start?.batches).toBeLessThan(31);
	});

	it("gives two starts of one operation different fences: the later one owns it", async () => {
		const batches = new OperationBatches(database.db);
		const [op] = await newOperations(1);
		if (!op) throw new Error("no operation");
		const [first, second] = await Promise.all([batches.markRunning(op.id), batches.markRunning(op.id)]);
		expect(first?.fence).not.toBe(second?.fence);
		const later = Math.max(first?.fence ?? 0, second?.fence ?? 0);
		const earlier = Math.min(first?.fence ?? 0, second?.fence ?? 0);
		await expect(batches.reportProgress({ id: op.id, fence: earlier }, 10, { note: "stale" })).rejects.toBeInstanceOf(
			SupersededRunError,
		);
		await batches.reportProgress({ id: op.id, fence: later }, 20, { note: "fresh" });
		const row = await getOperation(database.db, op.id);
		expect(row?.progress).toBe(20);
		expect(row?.state.note).toBe("fresh");
	});

	it("writes each run's progress and state in one statement, refusing only the superseded run", async () => {
		const batches = new OperationBatches(database.db);
		const ops = await newOperations(10);
		const runs = await Promise.all(ops.map((op) => markRunning(database.db, op.id)));
		const [victim] = runs;
		if (!victim) throw new Error("no run");
		await markRunning(database.db, victim.id); // another delivery takes it over
		const outcomes = await Promise.allSettled(
			runs.map((run, index) => batches.reportProgress(run, 10 * index, { step: `s${index}` })),
		);
		expect(outcomes[0]?.status === "rejected" && outcomes[0].reason).toBeInstanceOf(SupersededRunError);
		expect(outcomes.slice(1).every((outcome) => outcome.status === "fulfilled")).toBe(true);
		for (const [index, run] of runs.entries()) {
			const row = await getOperation(database.db, run.id);
			if (index === 0) expect(row?.state.step).toBeUndefined();
			else expect([row?.progress, row?.state.step]).toEqual([10 * index, `s${index}`]);
		}
	});

	it("settles concurrent successes together and compensates only the run the saga refused", async () => {
		const batches = new OperationBatches(database.db);
		const refuse = new Set<string>();
		const settled: string[][] = [];
		const undone: string[] = [];
		const saga = defineSaga<Payload>({
			name: "widget.create",
			steps: [
				{
					name: "make",
					do: async () => ({ made: true }),
					undo: async (ctx) => {
						undone.push(ctx.payload.widgetId);
					},
				},
			],
			onSucceeded: async () => {
				throw new Error("the batched path must be used");
			},
			onSucceededMany: async (ctxs) => {
				settled.push(ctxs.map((ctx) => ctx.payload.widgetId));
				const refused = new Map<string, Error>();
				for (const ctx of ctxs) {
					if (refuse.has(ctx.payload.widgetId)) {
						refused.set(ctx.operationId, new PermanentJobError("conflict", "The widget changed meanwhile."));
					}
				}
				return refused;
			},
		});
		const ops = await newOperations(12);
		const [odd] = ops;
		if (!odd) throw new Error("no operation");
		refuse.add(odd.widgetId);
		const outcomes = await Promise.all(
			ops.map((op) => runSaga(database.db, saga, delivery(op.id, op.widgetId), { batches })),
		);
		expect(outcomes.filter((outcome) => outcome === "succeeded")).toHaveLength(11);
		expect(outcomes[0]).toBe("failed");
		expect(undone).toEqual([odd.widgetId]);
		expect(settled.flat()).toHaveLength(12);
		expect(settled.length).toBeLessThan(12);
		const failed = await getOperation(database.db, odd.id);
		expect(failed?.status).toBe("failed");
		expect(failed?.error?.code).toBe("conflict");
		for (const op of ops.slice(1)) {
			const row = await getOperation(database.db, op.id);
			expect(row?.status).toBe("succeeded");
			expect(row?.progress).toBe(100);
			expect(readSagaState(row?.state ?? {}).done).toEqual(["make"]);
		}
	});

	it("goes again without a run superseded while its batch settled, and tells that run so", async () => {
		const batches = new OperationBatches(database.db);
		const ops = await newOperations(6);
		const [victim] = ops;
		if (!victim) throw new Error("no operation");
		const rounds: string[][] = [];
		const saga = defineSaga<Payload>({
			name: "widget.create",
			steps: [{ name: "make", do: async () => undefined, undo: async () => {} }],
			onSucceededMany: async (ctxs) => {
				const ids = ctxs.map((ctx) => ctx.operationId);
				rounds.push(ids);
				// Another delivery takes the victim over while its success is being settled.
				if (rounds.length === 1 && ids.includes(victim.id)) await markRunning(database.db, victim.id);
				return new Map();
			},
		});
		const outcomes = await Promise.all(
			ops.map((op) => runSaga(database.db, saga, delivery(op.id, op.widgetId), { batches })),
		);
		expect(outcomes[0]).toBe("superseded");
		expect(outcomes.slice(1).every((outcome) => outcome === "succeeded")).toBe(true);
		expect(rounds.at(-1)).not.toContain(victim.id);
		expect((await getOperation(database.db, victim.id))?.status).toBe("running");
	});
});
