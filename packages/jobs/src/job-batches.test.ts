import { randomUUID } from "node:crypto";
import { operations, outbox } from "@igoudar/db";
import { Queue, UnrecoverableError } from "bullmq";
import { eq, inArray, sql } from "drizzle-orm";
import { Type } from "typebox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defineCatalog, defineJob } from "./catalog";
import { BATCH_JOB, batchJobId, RunSlots } from "./job-batches";
import { enqueueOperation } from "./outbox";
import { Reconciler } from "./reconciler";
import { OutboxRelay } from "./relay";
import { RetryStepError } from "./retry";
import { useTestDatabase } from "./test-database";
import { silentLogger, useTestRedis, waitFor } from "./testing";
import type { JobContext, JobHandlers } from "./worker";
import { startWorkers } from "./worker";

/**
 * Batch jobs on the real Postgres and Redis: the relay carries rows of a batched job that it
 * finds together in one BullMQ job, the worker runs each as its own operation (a run that must be
 * tried again leaves as its own job), the queue's concurrency bounds the runs, and the reconciler
 * counts a live batch as the operation's job.
 */

const Payload = Type.Object({ n: Type.Integer() }, { additionalProperties: false });
const queueName = "batch-test";
const retry = { attempts: 5, backoff: { type: "requested" as const, delay: 50 } };
const catalog = defineCatalog({
	"thing.make": defineJob({ name: "thing.make", queue: queueName, payload: Payload, ...retry, batched: true }),
	"thing.check": defineJob({ name: "thing.check", queue: queueName, payload: Payload, ...retry }),
});
type Catalog = typeof catalog;
const logger = silentLogger();
const redis = useTestRedis("batches");
const database = useTestDatabase();
let queue: Queue;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
	queue = new Queue(queueName, {
		connection: redis.connection({ maxRetriesPerRequest: 1, connectionName: "t" }),
		prefix: redis.prefix,
	});
});

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
	await database.db.delete(outbox);
	await queue.obliterate({ force: true });
});

afterAll(async () => {
	await queue?.close();
});

function relay(): OutboxRelay {
	return new OutboxRelay({
		db: database.db,
		catalog,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
	});
}

/** Operations written as a request writes them, each in its own transaction; not relayed yet. */
async function submit(count: number, job: keyof Catalog = "thing.make"): Promise<string[]> {
	const ids: string[] = [];
	for (let n = 0; n < count; n++) {
		const operation = await database.db.transaction((tx) =>
			enqueueOperation(tx, {
				tenantId: randomUUID(),
				kind: job,
				targetType: "thing",
				targetId: randomUUID(),
				job: catalog[job],
				payload: { n },
			}),
		);
		ids.push(operation.id);
	}
	return ids;
}

async function jobIdsOf(ids: string[]): Promise<Map<string, string | null>> {
	const rows = await database.db
		.select({ operationId: outbox.operationId, jobId: outbox.jobId })
		.from(outbox)
		.where(inArray(outbox.operationId, ids));
	return new Map(rows.map((row) => [row.operationId, row.jobId]));
}

async function work(handler: (job: JobContext<{ n: number }>) => Promise<void>, concurrency = 8): Promise<void> {
	const handlers: JobHandlers<Catalog> = { "thing.make": handler, "thing.check": handler };
	const runner = await startWorkers({
		catalog,
		handlers,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		concurrency,
	});
	cleanups.push(() => runner.close());
}

describe("batch jobs", () => {
	it("carries the rows of a batched job relayed together in one job, and runs each as its own operation", async () => {
		const made = await submit(5);
		const [checked] = await submit(1, "thing.check");
		const sender = relay();
		cleanups.push(() => sender.stop());
		expect(await sender.relayBatch()).toEqual({ relayed: 6, failed: 0 });

		const jobIds = await jobIdsOf([...made, checked ?? ""]);
		const batchId = jobIds.get(made[0] ?? "");
		expect(batchId).toMatch(/^batch-[0-9a-f]{40}$/);
		for (const id of made) expect(jobIds.get(id)).toBe(batchId);
		// A job that is not batched goes alone, as its operation's id.
		expect(jobIds.get(checked ?? "")).toBe(checked);
		expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 2 });
		const batch = await queue.getJob(batchId ?? "");
		expect(batch?.name).toBe(BATCH_JOB);
		expect(batch?.data.runs.map((run: { id: string }) => run.id)).toEqual(made);

		const seen: { operationId: string; name: string; n: number }[] = [];
		await work(async (job) => {
			seen.push({ operationId: job.operationId, name: job.name, n: job.payload.n });
		});
		await waitFor(async () => (seen.length === 6 ? true : undefined), { what: "six runs" });
		expect(seen).toHaveLength(6);
		expect(new Set(seen.map((run) => run.operationId))).toEqual(new Set([...made, checked]));
		for (const [n, id] of made.entries()) {
			expect(seen.find((run) => run.operationId === id)).toEqual({ operationId: id, name: "thing.make", n });
		}
		await waitFor(async () => ((await queue.getJobState(batchId ?? "")) === "completed" ? true : undefined));
	});

	it("adds the same batch once when rows are relayed again before they were marked", async () => {
		const made = await submit(3);
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		// What a relay that died between its add and its commit leaves: the rows unmarked.
		await database.db.update(outbox).set({ relayedAt: null, jobId: null }).where(inArray(outbox.operationId, made));
		await sender.relayBatch();
		expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });
		expect(batchJobId([...made].reverse().map((id) => ({ id, name: "thing.make", payload: {} })))).toBe(
			(await jobIdsOf(made)).get(made[0] ?? ""),
		);
	});

	it("sends a run that must be tried again out of its batch as its own delayed job; a failed run ends", async () => {
		const [retried, failing, fine] = await submit(3);
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		const batchId = (await jobIdsOf([fine ?? ""])).get(fine ?? "");

		const calls = new Map<string, number>();
		await work(async (job) => {
			const call = (calls.get(job.operationId) ?? 0) + 1;
			calls.set(job.operationId, call);
			if (job.operationId === retried && call === 1) throw new RetryStepError("not yet", 300, new Error("blip"));
			if (job.operationId === failing) throw new UnrecoverableError("compensated");
		});
		await waitFor(async () => ((await queue.getJobState(retried ?? "")) === "completed" ? true : undefined), {
			what: "the retried run's own job",
		});
		expect(calls.get(retried ?? "")).toBe(2);
		expect(calls.get(failing ?? "")).toBe(1);
		expect(calls.get(fine ?? "")).toBe(1);
		expect(await queue.getJobState(batchId ?? "")).toBe("completed");
		// The failed run is over: no job of its own was added for it.
		expect(await queue.getJobState(failing ?? "")).toBe("unknown");
	});

	it("runs no more of a queue's runs at once than its concurrency, batched or alone", async () => {
		const made = [...(await submit(12)), ...(await submit(4, "thing.check"))];
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		let running = 0;
		let most = 0;
		let done = 0;
		await work(async () => {
			running += 1;
			most = Math.max(most, running);
			await new Promise((resolve) => setTimeout(resolve, 20));
			running -= 1;
			done += 1;
		}, 3);
		await waitFor(async () => (done === made.length ? true : undefined), { what: "every run" });
		expect(most).toBe(3);
	});

	it("queues a run that must be tried again even when its operation's own job ran before and is kept as completed", async () => {
		const [earlier, other] = await submit(2);
		const calls = new Map<string, number>();
		await work(async (job) => {
			const call = (calls.get(job.operationId) ?? 0) + 1;
			calls.set(job.operationId, call);
			if (job.operationId === earlier && call === 2) throw new RetryStepError("not yet", 100, new Error("blip"));
		});
		// A job of the operation's own ran first (as after a re-drive) and BullMQ keeps it completed.
		await queue.add("thing.make", { n: 0 }, { jobId: earlier });
		await waitFor(async () => ((await queue.getJobState(earlier ?? "")) === "completed" ? true : undefined));
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		await waitFor(async () => (calls.get(earlier ?? "") === 3 ? true : undefined), {
			what: "the run queued again on its own",
		});
		expect(calls.get(other ?? "")).toBe(1);
	});

	it("starts no more runs of a batch once the worker closes: they wait as jobs of their own", async () => {
		const made = await submit(6);
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		let started = 0;
		const runner = await startWorkers({
			catalog,
			handlers: {
				"thing.make": async () => {
					started += 1;
					await new Promise((resolve) => setTimeout(resolve, 300));
				},
				"thing.check": async () => {},
			},
			connection: redis.connection,
			prefix: redis.prefix,
			logger,
			concurrency: 1,
		});
		await waitFor(async () => (started === 1 ? true : undefined));
		await runner.close();
		expect(started).toBe(1);
		const states = await Promise.all(made.slice(1).map((id) => queue.getJobState(id)));
		expect(states).toEqual(Array(5).fill("waiting"));

		const ran = new Set<string>();
		await work(async (job) => {
			ran.add(job.operationId);
		});
		await waitFor(async () => (ran.size === 5 ? true : undefined), { what: "the runs left waiting" });
		expect([...ran].sort()).toEqual(made.slice(1).sort());
	});

	it("lets the reconciler count a live batch as the operation's job, and re-drive the operation alone once it is gone", async () => {
		const made = await submit(2);
		const sender = relay();
		cleanups.push(() => sender.stop());
		await sender.relayBatch();
		const batchId = (await jobIdsOf(made)).get(made[0] ?? "") ?? "";
		await database.db
			.update(operations)
			.set({ updatedAt: sql`now() - interval '1 hour'` })
			.where(inArray(operations.id, made));
		const reconciler = new Reconciler({
			db: database.db,
			catalog,
			connection: redis.connection,
			prefix: redis.prefix,
			logger,
			staleAfterMs: 60_000,
		});
		cleanups.push(() => reconciler.stop());

		expect(await reconciler.reconcileOnce()).toEqual({ examined: 2, redriven: 0, inProgress: 2 });
		// Redis lost the batch: each operation goes again as its own job.
		await queue.remove(batchId);
		await database.db
			.update(operations)
			.set({ updatedAt: sql`now() - interval '1 hour'` })
			.where(inArray(operations.id, made));
		expect(await reconciler.reconcileOnce()).toEqual({ examined: 2, redriven: 2, inProgress: 0 });
		for (const id of made) {
			expect(await queue.getJobState(id)).toBe("waiting");
			const [row] = await database.db.select().from(operations).where(eq(operations.id, id));
			expect(row?.state).toMatchObject({ redrives: 1 });
		}
	});

	it("bounds the runs in flight across callers, and frees a slot when a run fails", async () => {
		const slots = new RunSlots(2);
		let running = 0;
		let most = 0;
		const outcomes = await Promise.allSettled(
			Array.from({ length: 7 }, (_, n) =>
				slots.run(async () => {
					running += 1;
					most = Math.max(most, running);
					await new Promise((resolve) => setTimeout(resolve, 5));
					running -= 1;
					if (n % 2 === 0) throw new Error(`run ${n}`);
					return n;
				}),
			),
		);
		expect(most).toBe(2);
		expect(outcomes.filter((outcome) => outcome.status === "fulfilled").map((outcome) => outcome.value)).toEqual([
			1, 3, 5,
		]);
	});
});
