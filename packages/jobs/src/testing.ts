import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { pino } from "pino";
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
