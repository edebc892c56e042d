import { randomBytes } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { largestSlice, nextSliceSize } from "./rate-budget";
import { FallbackStore, LocalWindows, registerRateLimit } from "./rate-limit";

/**
 * Principal budgets spent a slice at a time, on the shared Redis: exact on one process, never
 * above the limit across two, and refused early by no more than the stated bound.
 */

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `igrb-${randomBytes(4).toString("hex")}`;
const LIMIT = 400;
const clients: Redis[] = [];
const apps: FastifyInstance[] = [];

/** The scripts each key cost, as the replicas sent them to Redis. */
const reservations = new Map<string, number>();

function connect(): Redis {
	const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
	// Counted on the way out rather than with MONITOR, whose replies can race its own set-up on a
	// busy Redis and break the connection.
	const send = client.sendCommand.bind(client);
	client.sendCommand = (command, stream) => {
		if (/^eval/i.test(command.name)) {
			const key = command.args.map(String).find((arg) => arg.startsWith(`${prefix}:`));
			if (key) reservations.set(key, (reservations.get(key) ?? 0) + 1);
		}
		return send(command, stream);
	};
	clients.push(client);
	return client;
}

/** An api replica reduced to the kit's limiter: one route, keyed on the caller's address. */
async function replica(): Promise<FastifyInstance> {
	const app = Fastify();
	apps.push(app);
	app.decorateRequest("principal", null);
	const redis = connect();
	await registerRateLimit(app, {
		redis,
		prefix,
		perMinute: LIMIT,
		tokenPerMinute: 1,
		tokenPerAddressPerMinute: 1,
		authFailuresPerMinute: 1,
	});
	app.get("/r", { config: { access: { role: "viewer" } } }, async () => ({ ok: true }));
	await app.ready();
	// Until its connection is ready a replica counts in its own memory, which is not under test here.
	await until(() => redis.status === "ready");
	return app;
}

/** `total` requests from `address`, `parallel` at a time, spread round-robin over the replicas. */
async function load(replicas: FastifyInstance[], address: string, total: number, parallel: number) {
	const answers: { replica: number; status: number; headers: Record<string, unknown> }[] = [];
	for (let sent = 0; sent < total; sent += parallel) {
		const batch = Array.from({ length: Math.min(parallel, total - sent) }, async (_, i) => {
			const index = (sent + i) % replicas.length;
			const res = await replicas[index]?.inject({ method: "GET", url: "/r", remoteAddress: address });
			answers.push({ replica: index, status: res?.statusCode ?? 0, headers: res?.headers ?? {} });
		});
		await Promise.all(batch);
	}
	return answers;
}

afterAll(async () => {
	for (const app of apps) await app.close();
	const cleanup = connect();
	const keys = await cleanup.keys(`${prefix}:*`);
	if (keys.length > 0) await cleanup.del(...keys);
	for (const client of clients) client.disconnect();
});

describe("slice sizes", () => {
	it("follow the principal's rate, grow at most twofold and never past a twentieth of the limit", () => {
		expect(largestSlice(1200)).toBe(60);
		expect(largestSlice(39)).toBe(1);
		expect(nextSliceSize(8, 10, 60)).toBe(16);
		expect(nextSliceSize(40, 10, 60)).toBe(60);
		expect(nextSliceSize(16, 250, 60)).toBe(16);
		expect(nextSliceSize(16, 1_000, 60)).toBe(4);
		expect(nextSliceSize(60, 60_000, 60)).toBe(1);
	});
});

describe("a principal's budget spent in slices", () => {
	it("is exact on one process: the limit's requests pass, the next is refused, in few round trips", async () => {
		const app = await replica();
		const answers = await load([app], "10.9.0.1", LIMIT + 1, 16);
		expect(answers.filter((a) => a.status === 200)).toHaveLength(LIMIT);
		const refused = answers.filter((a) => a.status === 429);
		expect(refused).toHaveLength(1);
		expect(Number(refused[0]?.headers["retry-after"])).toBeGreaterThan(0);
		expect(refused[0]?.headers["x-ratelimit-remaining"]).toBe("0");
		// Every accepted answer says how much is left, and the last one has nothing left.
		const remaining = answers.filter((a) => a.status === 200).map((a) => Number(a.headers["x-ratelimit-remaining"]));
		expect(Math.min(...remaining)).toBe(0);
		expect(answers.every((a) => a.headers["x-ratelimit-limit"] === String(LIMIT))).toBe(true);
		// Far fewer reservations than requests (the largest slice is 20, the first ones are small).
		await until(() => (reservations.get(`${prefix}:ratelimit:ip:10.9.0.1`) ?? 0) > 0);
		expect(reservations.get(`${prefix}:ratelimit:ip:10.9.0.1`)).toBeLessThan(LIMIT / 4);
	});

	it("never passes the limit across two replicas sharing Redis, and refuses at most (2 - 1) x N early", async () => {
		const replicas = [await replica(), await replica()];
		const answers = await load(replicas, "10.9.0.2", LIMIT + 100, 16);
		const accepted = answers.filter((a) => a.status === 200);
		expect(accepted.length).toBeLessThanOrEqual(LIMIT);
		expect(accepted.length).toBeGreaterThanOrEqual(LIMIT - largestSlice(LIMIT));
		// Both replicas served, and once one refuses, nothing it holds is left to spend.
		for (const index of [0, 1]) expect(accepted.some((a) => a.replica === index)).toBe(true);
		expect(answers.slice(-2).every((a) => a.status === 429)).toBe(true);
	});

	it("starts afresh when Redis says the window is over, and spends no unit past its window", async () => {
		const redis = connect();
		const store = new FallbackStore(redis, `${prefix}:short:`, new LocalWindows(100), 1_000, () => {});
		await until(() => redis.status === "ready");
		const windowMs = 400;
		const seen: number[] = [];
		const started = Date.now();
		while (Date.now() - started < 3 * windowMs) {
			const { current } = await store.take("k", windowMs, 1_000_000);
			seen.push(current);
			await new Promise((resolve) => setTimeout(resolve, 1));
		}
		// Unit numbers restart at 1 in each window that Redis opened, and climb within it.
		const windowStarts = seen.filter((unit) => unit === 1).length;
		expect(windowStarts).toBeGreaterThanOrEqual(3);
		const backwards = seen.filter((unit, i) => i > 0 && unit !== 1 && unit <= (seen[i - 1] ?? 0));
		expect(backwards).toEqual([]);
	});
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error("condition not met in time");
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
