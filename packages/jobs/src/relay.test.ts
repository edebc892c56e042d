import { randomUUID } from "node:crypto";
import { outbox } from "@igoudar/db";
import { Queue } from "bullmq";
import { eq, inArray, isNull, sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { Type } from "typebox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defineCatalog, defineJob } from "./catalog";
import type { OperationRow } from "./operations";
import { markRunning, succeed } from "./operations";
import { enqueueOperation } from "./outbox";
import { OutboxRelay, pruneRelayedOutbox } from "./relay";
import { useTestDatabase } from "./test-database";
import { silentLogger, useTestRedis, waitFor } from "./testing";
import type { WorkerRunner } from "./worker";
import { startWorkers } from "./worker";

const ping = defineJob({
	name: "test.ping",
	queue: "relay-test",
	payload: Type.Object({ targetId: Type.String({ format: "uuid" }) }, { additionalProperties: false }),
	attempts: 4,
	backoff: { type: "exponential", delay: 250 },
});
const catalog = defineCatalog({ "test.ping": ping });
const logger = silentLogger();

const redis = useTestRedis("relay");
const database = useTestDatabase(4);
let queue: Queue;
const cleanups: (() => Promise<void>)[] = [];

/** Job id -> how many times a worker ran it. */
const deliveries = new Map<string, number>();

beforeAll(async () => {
	queue = new Queue(ping.queue, {
		connection: redis.connection({ maxRetriesPerRequest: 1, connectionName: "t" }),
		prefix: redis.prefix,
	});
});

afterEach(async () => {
	// Stop what a test started (relays, workers) even when it failed half-way.
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
	// Each test starts from an empty outbox so relays only see their own rows.
	await database.db.delete(outbox);
	await queue.obliterate({ force: true });
	deliveries.clear();
});

afterAll(async () => {
	await queue?.close();
});

function relay(options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}): OutboxRelay {
	const instance = new OutboxRelay({
		db: database.db,
		catalog,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		...options,
	});
	cleanups.push(() => instance.stop());
	return instance;
}

async function startCountingWorker(): Promise<WorkerRunner> {
	const runner = await startWorkers({
		catalog,
		handlers: {
			"test.ping": async (job) => {
				deliveries.set(job.operationId, (deliveries.get(job.operationId) ?? 0) + 1);
			},
		},
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		concurrency: 10,
	});
	cleanups.push(() => runner.close());
	return runner;
}

async function commitOperations(count: number): Promise<OperationRow[]> {
	return database.db.transaction(async (tx) => {
		const created: OperationRow[] = [];
		for (let i = 0; i < count; i++) {
			const targetId = randomUUID();
			created.push(
				await enqueueOperation(tx, {
					tenantId: null,
					kind: "test.ping",
					targetType: "thing",
					targetId,
					job: ping,
					payload: { targetId },
				}),
			);
		}
		return created;
	});
}

async function unrelayedCount(): Promise<number> {
	const rows = await database.db.select({ id: outbox.id }).from(outbox).where(isNull(outbox.relayedAt));
	return rows.length;
}

function allDelivered(ids: string[]) {
	return waitFor(async () => (ids.every((id) => deliveries.has(id)) ? true : undefined), {
		what: `${ids.length} deliveries`,
	});
}

describe("OutboxRelay", () => {
	it("delivers every committed operation exactly once, with the catalog's retry options", async () => {
		await startCountingWorker();
		const created = await commitOperations(20);
		const ids = created.map((row) => row.id);

		expect(await relay().relayAll()).toBe(20);
		await allDelivered(ids);
		// A second pass finds nothing to move, and nothing runs again.
		expect(await relay().relayAll()).toBe(0);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
		expect(deliveries.size).toBe(20);
		expect(await unrelayedCount()).toBe(0);

		const job = await queue.getJob(ids[0] ?? "");
		expect(job?.opts).toMatchObject({
			attempts: 4,
			backoff: { type: "exponential", delay: 250 },
			removeOnComplete: { age: 86_400 },
			removeOnFail: { age: 604_800 },
		});
	});

	it("loses nothing when the process dies between commit and enqueue", async () => {
		// The request committed its rows, then its process died before any relay ran.
		const created = await commitOperations(3);
		expect(await queue.getJobCounts()).toMatchObject({ waiting: 0 });
		// A relay in a process started later finds them through its poll loop.
		const restarted = relay({ pollIntervalMs: 50 });
		restarted.start();
		await startCountingWorker();
		await allDelivered(created.map((row) => row.id));
		expect(await unrelayedCount()).toBe(0);
	});

	it("enqueues nothing twice when the process dies after enqueue but before marking relayed", async () => {
		await startCountingWorker();
		const [operation] = await commitOperations(1);
		if (!operation) throw new Error("no operation");
		// What the dead relay got done: the job is in BullMQ (and has even run), but its
		// transaction never committed relayed_at.
		await queue.add(ping.name, { targetId: operation.targetId }, { jobId: operation.id });
		await allDelivered([operation.id]);

		const next = relay();
		expect(await next.relayAll()).toBe(1);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(deliveries.get(operation.id)).toBe(1);
		expect(await queue.getJobCountByTypes("completed", "waiting", "active", "delayed")).toBe(1);
		expect(await unrelayedCount()).toBe(0);
	});

	it("lets several relays work in parallel and still delivers each row once", async () => {
		await startCountingWorker();
		const created = await commitOperations(200);
		// Separate pools, as separate processes would have.
		const relays = [0, 1, 2, 3].map(() => relay({ db: database.openPool(), batchSize: 10 }));
		const moved = await Promise.all(relays.map((instance) => instance.relayAll()));

		expect(moved.reduce((sum, count) => sum + count, 0)).toBe(200);
		// SKIP LOCKED splits the rows: the relays worked side by side rather than waiting in turn.
		expect(moved.filter((count) => count > 0).length).toBeGreaterThan(1);
		expect(relays.reduce((sum, instance) => sum + instance.stats.failed, 0)).toBe(0);
		await allDelivered(created.map((row) => row.id));
		expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
		expect(await queue.getJobCountByTypes("completed", "waiting", "active", "delayed")).toBe(200);
	});

	it("picks a row up at once when nudged after commit", async () => {
		await startCountingWorker();
		// A poll interval far beyond the test's patience: only the nudge can explain a delivery.
		const instance = relay({ pollIntervalMs: 60_000 });
		instance.start();
		await waitFor(async () => (instance.stats.batches > 0 ? true : undefined), { what: "the first idle batch" });
		const [operation] = await commitOperations(1);
		if (!operation) throw new Error("no operation");
		instance.nudge();
		await waitFor(async () => (deliveries.has(operation.id) ? true : undefined), {
			timeoutMs: 15_000,
			what: "the nudged delivery",
		});
	});

	it("keeps a row it could not enqueue, records why, and delivers it later", async () => {
		const [operation] = await commitOperations(1);
		if (!operation) throw new Error("no operation");
		// Many failures already: the retry delay is at its 60 s cap, far beyond any stall of this test.
		await database.db.update(outbox).set({ relayAttempts: 10 }).where(eq(outbox.operationId, operation.id));
		// Redis unreachable: nothing listens on port 1.
		const broken = relay({
			connection: (options) =>
				new Redis("redis://127.0.0.1:1", { ...options, retryStrategy: () => null, enableOfflineQueue: false }),
			enqueueTimeoutMs: 1_000,
		});
		expect(await broken.relayBatch()).toEqual({ relayed: 0, failed: 1 });
		const [row] = await database.db.select().from(outbox).where(eq(outbox.operationId, operation.id));
		expect(row).toMatchObject({ relayAttempts: 11, relayedAt: null });
		expect(row?.lastError).toBeTruthy();
		expect(row?.availableAt.getTime()).toBeGreaterThan(Date.now());
		// Not due yet: a healthy relay leaves it alone until its retry time.
		const healthy = relay();
		expect(await healthy.relayBatch()).toEqual({ relayed: 0, failed: 0 });

		await database.db
			.update(outbox)
			.set({ availableAt: sql`now()` })
			.where(inArray(outbox.operationId, [operation.id]));
		await startCountingWorker();
		expect(await healthy.relayBatch()).toEqual({ relayed: 1, failed: 0 });
		await allDelivered([operation.id]);
	});

	it("prunes old relayed rows of ended operations only", async () => {
		const [ended, open] = await commitOperations(2);
		if (!ended || !open) throw new Error("no operations");
		await relay().relayAll();
		await succeed(database.db, await markRunning(database.db, ended.id));
		await database.db.update(outbox).set({ relayedAt: sql`now() - interval '8 days'` });

		expect(await pruneRelayedOutbox(database.db, 7 * 86_400_000)).toBe(1);
		const left = await database.db.select({ operationId: outbox.operationId }).from(outbox);
		expect(left).toEqual([{ operationId: open.id }]);
	});

	it("waits for the batch in progress when stopped", async () => {
		await commitOperations(50);
		const instance = relay({ batchSize: 50 });
		instance.start();
		await instance.stop();
		// start() begins a batch at once and stop() waits for it: the whole batch is through.
		expect(await unrelayedCount()).toBe(0);
		expect(await queue.getJobCountByTypes("waiting")).toBe(50);
	});
});
