import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { operations } from "@igoudar/db";
import { Queue, UnrecoverableError } from "bullmq";
import { eq, sql } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { countingCatalog, countingSaga, counts, provision } from "../test/fixtures/counting-saga";
import type { OperationRow } from "./operations";
import { getOperation, markRunning, succeed } from "./operations";
import { enqueueOperation } from "./outbox";
import type { ReconcilerOptions } from "./reconciler";
import { Reconciler } from "./reconciler";
import { OutboxRelay } from "./relay";
import { sagaHandler } from "./saga-run";
import { useTestDatabase } from "./test-database";
import { silentLogger, useTestRedis, waitFor } from "./testing";
import type { JobHandler, WorkerTuning } from "./worker";
import { startWorkers } from "./worker";

const logger = silentLogger();
const workerProcess = fileURLToPath(new URL("../test/fixtures/worker-process.ts", import.meta.url));

const redis = useTestRedis("reconcile");
const database = useTestDatabase(6);
let relay: OutboxRelay;
let queue: Queue;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
	relay = new OutboxRelay({
		db: database.db,
		catalog: countingCatalog,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
	});
	queue = new Queue(provision.queue, {
		connection: redis.connection({ maxRetriesPerRequest: 1, connectionName: "test" }),
		prefix: redis.prefix,
	});
});

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
	// Operations of earlier tests are stale too; finish them so each test sees only its own.
	await database.db
		.update(operations)
		.set({ status: "failed", completedAt: sql`now()` })
		.where(sql`${operations.status} in ('pending', 'running')`);
	await queue.obliterate({ force: true });
});

afterAll(async () => {
	await queue?.close();
	await relay?.stop();
});

function reconciler(options: Partial<ReconcilerOptions> = {}): Reconciler {
	const instance = new Reconciler({
		db: database.db,
		catalog: countingCatalog,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		staleAfterMs: 60_000,
		...options,
	});
	cleanups.push(() => instance.stop());
	return instance;
}

async function startWorker(handler?: JobHandler<{ thingId: string }>, tuning?: WorkerTuning) {
	const runner = await startWorkers({
		catalog: countingCatalog,
		handlers: { "thing.provision": handler ?? sagaHandler(database.db, countingSaga(redis.redis, redis.prefix)) },
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		tuning,
	});
	cleanups.push(() => runner.close());
	return runner;
}

/** Commits an operation and relays it, as a request followed by the relay would. */
async function submitted(): Promise<OperationRow> {
	const thingId = randomUUID();
	const operation = await database.db.transaction((tx) =>
		enqueueOperation(tx, {
			tenantId: randomUUID(),
			kind: "thing.provision",
			targetType: "thing",
			targetId: thingId,
			job: provision,
			payload: { thingId },
		}),
	);
	await relay.relayAll();
	return operation;
}

/** Makes the operation look as if it had made no progress for an hour. */
async function ageOperation(id: string): Promise<void> {
	await database.db.update(operations).set({ updatedAt: sql`now() - interval '1 hour'` }).where(eq(operations.id, id));
}

function until(id: string, status: "succeeded" | "failed", timeoutMs = 5_000) {
	return waitFor(
		async () => {
			const row = await getOperation(database.db, id);
			return row?.status === status ? row : undefined;
		},
		{ what: `operation ${status}`, timeoutMs },
	);
}

describe("Reconciler", () => {
	it("re-adds the job of a stuck operation that Redis lost, and the operation then succeeds", async () => {
		const operation = await submitted();
		await queue.remove(operation.id);
		await ageOperation(operation.id);

		expect(await reconciler().reconcileOnce()).toEqual({ examined: 1, redriven: 1, inProgress: 0 });
		expect(await queue.getJobState(operation.id)).toBe("waiting");
		const row = await getOperation(database.db, operation.id);
		expect(row?.state).toMatchObject({ redrives: 1 });
		expect(row && row.updatedAt.getTime() > Date.now() - 60_000).toBe(true);

		await startWorker();
		await until(operation.id, "succeeded");
	});

	it("replaces a job BullMQ gave up on while its operation is still open", async () => {
		const operation = await submitted();
		// A handler that fails its job without ending the operation stands in for a job that
		// stalled too often: BullMQ has it failed, the operation still says pending.
		const broken = await startWorker(async () => {
			throw new UnrecoverableError("job stalled more than allowable limit");
		});
		await waitFor(async () => ((await queue.getJobState(operation.id)) === "failed" ? true : undefined));
		await broken.close();
		await ageOperation(operation.id);

		expect(await reconciler().reconcileOnce()).toMatchObject({ redriven: 1 });
		expect(await queue.getJobState(operation.id)).toBe("waiting");
		await startWorker();
		await until(operation.id, "succeeded");
	});

	it("leaves alone an operation whose job is still waiting, and ignores ended or fresh ones", async () => {
		const waiting = await submitted();
		await ageOperation(waiting.id);
		const ended = await submitted();
		await succeed(database.db, await markRunning(database.db, ended.id));
		await ageOperation(ended.id);
		const fresh = await submitted();
		await queue.remove(fresh.id);

		expect(await reconciler().reconcileOnce()).toEqual({ examined: 1, redriven: 0, inProgress: 1 });
		expect(await queue.getJobState(fresh.id)).toBe("unknown");
	});

	it("re-drives once when two reconcilers look at the same operation", async () => {
		const operation = await submitted();
		await queue.remove(operation.id);
		await ageOperation(operation.id);
		const results = await Promise.all([reconciler().reconcileOnce(), reconciler().reconcileOnce()]);
		expect(results.reduce((sum, result) => sum + result.redriven, 0)).toBe(1);
		expect((await getOperation(database.db, operation.id))?.state).toMatchObject({ redrives: 1 });
	});

	it("tells the saga to compensate after too many re-drives, so the operation still ends", async () => {
		const operation = await submitted();
		await queue.remove(operation.id);
		await database.db
			.update(operations)
			.set({ updatedAt: sql`now() - interval '1 hour'`, state: { redrives: 3 } })
			.where(eq(operations.id, operation.id));

		await reconciler({ maxRedrives: 3 }).reconcileOnce();
		expect((await getOperation(database.db, operation.id))?.state).toMatchObject({ redrives: 4, abandon: true });
		await startWorker();
		const row = await until(operation.id, "failed");
		expect(row.error).toMatchObject({ code: "internal" });
		expect(await counts(redis.redis, redis.prefix, operation.id)).toEqual({ "undo:reserve": 1 });
	});

	it("finishes an operation whose worker process was killed mid-step", async () => {
		const child = spawn(process.execPath, ["--import", "tsx", workerProcess], {
			env: {
				...process.env,
				DATABASE_URL: database.url,
				REDIS_URL: redis.url,
				PREFIX: redis.prefix,
				HANG_IN: "build",
			},
			stdio: ["ignore", "pipe", "inherit"],
		});
		cleanups.push(async () => {
			if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
		});
		await lineFrom(child, "ready");
		// Listen before submitting: output that arrives with no listener attached is lost.
		const hanging = lineFrom(child, "hanging");
		const operation = await submitted();
		await hanging;
		child.kill("SIGKILL");
		await once(child, "exit");

		const stuck = await getOperation(database.db, operation.id);
		expect(stuck?.status).toBe("running");
		expect(stuck?.state).toMatchObject({ done: ["reserve"] });

		// The survivors: a worker whose stall check fails the dead process's job at once, and a
		// reconciler with a short threshold.
		await startWorker(undefined, { stalledInterval: 200, maxStalledCount: 0, lockDuration: 1_000 });
		reconciler({ staleAfterMs: 300, intervalMs: 100 }).start();

		const row = await until(operation.id, "succeeded", 10_000);
		expect(row.state).toMatchObject({ done: ["reserve", "build", "start"], redrives: 1 });
		// `reserve` was done before the kill and is not repeated; `build` runs again from the start.
		expect(await counts(redis.redis, redis.prefix, operation.id)).toEqual({
			"do:reserve": 1,
			"do:build": 2,
			"do:start": 1,
		});
	});
});

/** Resolves when the child prints `line` on stdout; rejects if it exits first. */
function lineFrom(child: ChildProcess, line: string): Promise<void> {
	return new Promise((resolve, reject) => {
		let buffered = "";
		const onData = (chunk: Buffer) => {
			buffered += chunk.toString();
			if (buffered.split("\n").includes(line)) {
				child.stdout?.off("data", onData);
				child.off("exit", onExit);
				resolve();
			}
		};
		const onExit = (code: number | null) => reject(new Error(`worker process exited (${code}) before "${line}"`));
		child.stdout?.on("data", onData);
		child.once("exit", onExit);
	});
}
