import { randomBytes } from "node:crypto";
import { registerRateLimit } from "@igoudar/kit";
import Fastify, { type FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateRedis, startPrivateRedis } from "../../../test/support/redis-server";
import { createApiRedis } from "../src/redis";

/**
 * Rate limits while Redis is unreachable: the same budget, counted in the process, and back to
 * Redis counting as soon as it answers. A private redis-server is killed, frozen and restarted
 * under a small app that has nothing but the kit's limiter and the API's Redis client.
 */

const BUDGET = 5;
const prefix = `igrl-${randomBytes(4).toString("hex")}`;
let redis: PrivateRedis;
let client: Redis;
let app: FastifyInstance;

beforeAll(async () => {
	redis = await startPrivateRedis();
	client = createApiRedis(redis.url, { commandTimeoutMs: 300 });
	client.on("error", () => {});
	app = Fastify();
	app.decorateRequest("principal", null);
	await registerRateLimit(app, {
		redis: client,
		prefix,
		perMinute: BUDGET,
		tokenPerMinute: 1,
		tokenPerAddressPerMinute: 1,
		authFailuresPerMinute: 1,
	});
	app.get("/r", { config: { access: { role: "viewer" } } }, async () => ({ ok: true }));
	await app.ready();
	await until(() => client.status === "ready");
}, 30_000);

afterAll(async () => {
	await app?.close();
	client?.disconnect();
	await redis?.stop();
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error("condition not met in time");
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** One window's worth of requests plus one, from a fresh address so each round starts at zero. */
async function round(): Promise<{ address: string; statuses: number[]; slowestMs: number; retryAfter: unknown }> {
	const address = `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
	const statuses: number[] = [];
	let slowestMs = 0;
	let retryAfter: unknown;
	for (let i = 0; i <= BUDGET; i++) {
		const started = performance.now();
		const res = await app.inject({ method: "GET", url: "/r", remoteAddress: address });
		slowestMs = Math.max(slowestMs, performance.now() - started);
		statuses.push(res.statusCode);
		if (res.statusCode === 429) retryAfter = res.headers["retry-after"];
	}
	return { address, statuses, slowestMs, retryAfter };
}

const counters = () => new Redis(redis.url, { maxRetriesPerRequest: 1 });
const limited = [...Array.from({ length: BUDGET }, () => 200), 429];

describe("rate limits when Redis goes away", () => {
	it("count in Redis, then in the process with the same budget, then in Redis again", async () => {
		const up = await round();
		expect(up.statuses).toEqual(limited);
		const probe = counters();
		expect(await probe.keys(`${prefix}:ratelimit:ip:*`)).toHaveLength(1);
		probe.disconnect();

		await redis.kill();
		const down = await round();
		expect(down.statuses).toEqual(limited);
		expect(Number(down.retryAfter)).toBeGreaterThan(0);
		// Refused by the client at once, not waited on: each answer well inside a second.
		expect(down.slowestMs).toBeLessThan(1_000);

		await redis.restart();
		await until(() => client.status === "ready");
		const back = await round();
		expect(back.statuses).toEqual(limited);
		const after = counters();
		// The restarted server starts empty: the counter there is this round's.
		const keys = await after.keys(`${prefix}:ratelimit:ip:*`);
		expect(keys).toHaveLength(1);
		expect(await after.get(keys[0] ?? "")).toBe(String(BUDGET + 1));
		after.disconnect();
	}, 30_000);

	it("fall back when a connected Redis stops answering", async () => {
		const probe = counters();
		try {
			const before = await round();
			expect(await probe.get(`${prefix}:ratelimit:ip:${before.address}`)).toBe(String(BUDGET + 1));
			redis.pause();
			let frozen: Awaited<ReturnType<typeof round>>;
			try {
				frozen = await round();
			} finally {
				redis.resume();
			}
			expect(frozen.statuses).toEqual(limited);
			expect(frozen.slowestMs).toBeLessThan(1_000);
			// Redis runs what was sent to it while frozen once it continues: one increment only. The
			// first request waited out the command timeout; the rest were counted in the process
			// rather than each waiting on a server that had just failed to answer.
			const key = `${prefix}:ratelimit:ip:${frozen.address}`;
			let late: string | null = null;
			for (let i = 0; i < 100 && late === null; i++) {
				late = await probe.get(key);
				if (late === null) await new Promise((resolve) => setTimeout(resolve, 20));
			}
			expect(late).toBe("1");
		} finally {
			probe.disconnect();
		}
	}, 30_000);
});
