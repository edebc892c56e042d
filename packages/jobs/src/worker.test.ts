import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { Type } from "typebox";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defineCatalog, defineJob } from "./catalog";
import { getOperation } from "./operations";
import { enqueueOperation } from "./outbox";
import { OutboxRelay } from "./relay";
import { defineSaga, PermanentJobError } from "./saga";
import { sagaHandler } from "./saga-run";
import { useTestDatabase } from "./test-database";
import { silentLogger, useTestRedis, waitFor } from "./testing";
import type { JobHandlers } from "./worker";
import { startWorkers } from "./worker";

const ThingPayload = Type.Object({ thingId: Type.String({ format: "uuid" }) }, { additionalProperties: false });
const catalog = defineCatalog({
	"thing.create": defineJob({
		name: "thing.create",
		queue: "things",
		payload: ThingPayload,
		attempts: 3,
		backoff: { type: "exponential", delay: 20 },
	}),
	"thing.delete": defineJob({
		name: "thing.delete",
		queue: "things-slow",
		payload: ThingPayload,
		attempts: 1,
		backoff: { type: "exponential", delay: 20 },
	}),
});
type Catalog = typeof catalog;
const logger = silentLogger();

const redis = useTestRedis("worker");
const database = useTestDatabase(6);
let relay: OutboxRelay;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
	relay = new OutboxRelay({
		db: database.db,
		catalog,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		pollIntervalMs: 50,
	});
	relay.start();
});

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
	await relay?.stop();
});

const refuseRedis = () => {
	throw new Error("start-up must fail before it opens a Redis connection");
};

async function run(handlers: JobHandlers<Catalog>, concurrency = 2) {
	const runner = await startWorkers({
		catalog,
		handlers,
		connection: redis.connection,
		prefix: redis.prefix,
		logger,
		concurrency,
	});
	cleanups.push(() => runner.close());
	return runner;
}

async function submit(job: keyof Catalog = "thing.create"): Promise<string> {
	const thingId = randomUUID();
	const operation = await database.db.transaction((tx) =>
		enqueueOperation(tx, {
			tenantId: randomUUID(),
			kind: job,
			targetType: "thing",
			targetId: thingId,
			job: catalog[job],
			payload: { thingId },
		}),
	);
	relay.nudge();
	return operation.id;
}

function until(id: string, status: "succeeded" | "failed") {
	return waitFor(
		async () => {
			const row = await getOperation(database.db, id);
			return row?.status === status ? row : undefined;
		},
		{ what: `operation ${status}` },
	);
}

const noop = async () => {};

describe("startWorkers", () => {
	it("refuses a catalog job that has no handler", async () => {
		const handlers = { "thing.create": noop } as unknown as JobHandlers<Catalog>;
		await expect(
			startWorkers({ catalog, handlers, connection: refuseRedis, prefix: redis.prefix, logger }),
		).rejects.toThrow("Worker start-up refused: no handler for thing.delete");
	});

	it("refuses a handler for a job the catalog does not have", async () => {
		const handlers = { "thing.create": noop, "thing.delete": noop, "thing.resize": noop };
		await expect(
			startWorkers({ catalog, handlers, connection: refuseRedis, prefix: redis.prefix, logger }),
		).rejects.toThrow("handlers for jobs not in the catalog: thing.resize");
	});

	it("runs one worker per queue and reports the Redis eviction policy", async () => {
		const runner = await run({ "thing.create": noop, "thing.delete": noop });
		expect(runner.queues).toEqual(["things", "things-slow"]);
		// The test Redis runs with BullMQ's required policy (the default, and what .ci/run sets).
		expect(runner.evictionPolicy).toBe("noeviction");
	});

	it("drives a saga from the outbox to a succeeded operation", async () => {
		const saga = defineSaga<{ thingId: string }>({
			name: "thing.create",
			steps: [
				{ name: "a", do: async () => ({ seen: true }), undo: noop },
				{ name: "b", do: async () => undefined, undo: noop },
			],
		});
		await run({ "thing.create": sagaHandler(database.db, saga), "thing.delete": noop });
		const id = await submit();
		const row = await until(id, "succeeded");
		expect(row.state).toMatchObject({ done: ["a", "b"], data: { seen: true } });
	});

	it("retries a transient failure with backoff until it passes", async () => {
		let tries = 0;
		const saga = defineSaga<{ thingId: string }>({
			name: "flaky",
			steps: [
				{
					name: "flaky",
					do: async () => {
						tries += 1;
						if (tries < 3) throw new Error("try again");
						return undefined;
					},
					undo: noop,
				},
			],
		});
		await run({ "thing.create": sagaHandler(database.db, saga), "thing.delete": noop });
		const id = await submit();
		await until(id, "succeeded");
		expect(tries).toBe(3);
	});

	it("fails a permanent failure at once: operation failed, BullMQ job failed, no retry", async () => {
		let tries = 0;
		const saga = defineSaga<{ thingId: string }>({
			name: "full",
			steps: [
				{
					name: "place",
					do: async () => {
						tries += 1;
						throw new PermanentJobError("no_capacity", "No host has room.");
					},
					undo: noop,
				},
			],
		});
		await run({ "thing.create": sagaHandler(database.db, saga), "thing.delete": noop });
		const id = await submit();
		const row = await until(id, "failed");
		expect(row.error).toMatchObject({ code: "no_capacity", status: 503 });
		const queue = new Queue("things", {
			connection: redis.connection({ maxRetriesPerRequest: 1, connectionName: "t" }),
			prefix: redis.prefix,
		});
		cleanups.push(() => queue.close());
		const state = await waitFor(async () => {
			const jobState = await queue.getJobState(id);
			return jobState === "failed" ? jobState : undefined;
		});
		expect(state).toBe("failed");
		expect(tries).toBe(1);
	});

	it("lets the job in progress finish before close() resolves", async () => {
		let finished = false;
		let started = false;
		await run({
			"thing.create": noop,
			"thing.delete": async () => {
				started = true;
				await new Promise((resolve) => setTimeout(resolve, 300));
				finished = true;
			},
		});
		await submit("thing.delete");
		await waitFor(async () => (started ? true : undefined), { what: "the slow job to start" });
		for (const cleanup of cleanups.splice(0)) await cleanup();
		expect(finished).toBe(true);
	});
});
