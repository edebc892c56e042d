import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import type { RedisConnectionFactory } from "./redis";
import { redisConnectionFactory } from "./redis";

/**
 * Test support for code that uses the job machinery: a real Redis with a BullMQ key prefix
 * private to one test file, so files run in parallel against one server, and a cleanup that
 * deletes exactly that prefix's keys.
 */

export const testRedisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export interface TestRedis {
	url: string;
	prefix: string;
	connection: RedisConnectionFactory;
	/** A plain connection for assertions (counters, key checks). */
	redis: Redis;
	/** Deletes every key under the prefix and closes `redis`. */
	cleanup(): Promise<void>;
}

export async function createTestRedis(label = "t"): Promise<TestRedis> {
	const prefix = `igoudar-test-${label}-${randomBytes(5).toString("hex")}`;
	const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 3 });
	await redis.ping();
	return {
		url: testRedisUrl,
		prefix,
		connection: redisConnectionFactory(testRedisUrl),
		redis,
		async cleanup() {
			await deleteKeys(redis, `${prefix}:*`);
			await redis.quit();
		},
	};
}

/**
 * For a test file: `createTestRedis(label)` before the file's tests and its cleanup after them.
 * Read the fields inside tests or hooks, not at import. Call it before the file's own
 * beforeAll/afterAll, so its cleanup (vitest runs afterAll hooks in reverse) comes last.
 */
export function useTestRedis(label?: string): Readonly<Omit<TestRedis, "cleanup">> {
	let testRedis: TestRedis | undefined;
	const made = () => {
		if (!testRedis) throw new Error("the test Redis is made in beforeAll");
		return testRedis;
	};
	beforeAll(async () => {
		testRedis = await createTestRedis(label);
	});
	afterAll(async () => {
		await testRedis?.cleanup();
	});
	return {
		get url() {
			return made().url;
		},
		get prefix() {
			return made().prefix;
		},
		get connection() {
			return made().connection;
		},
		get redis() {
			return made().redis;
		},
	};
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
	let cursor = "0";
	let deleted = 0;
	do {
		const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
		cursor = next;
		if (keys.length > 0) deleted += await redis.del(...keys);
	} while (cursor !== "0");
	return deleted;
}

export function silentLogger(): Logger {
	return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
	check: () => Promise<T | undefined>,
	{ timeoutMs = 20_000, intervalMs = 25, what = "condition" } = {},
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
	}
}
