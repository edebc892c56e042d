import { spawnSync } from "node:child_process";
import type { FastifyBaseLogger } from "fastify";
import { Redis } from "ioredis";
import { launchPrivateRedis, stopLeftoverRedis } from "./private-redis";

async function answers(url: string): Promise<boolean> {
	const client = new Redis(url, {
		lazyConnect: true,
		maxRetriesPerRequest: 0,
		connectTimeout: 1_000,
		retryStrategy: () => null,
	});
	client.on("error", () => {});
	try {
		await client.connect();
		return (await client.ping()) === "PONG";
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

function hasRedisServer(): boolean {
	return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

export interface RedisEndpoint {
	url: string;
	/** Stops the redis-server this process started, if any. */
	stop(): Promise<void>;
}

function isLoopback(url: string): boolean {
	const host = new URL(url).hostname;
	return host === "127.0.0.1" || host === "localhost" || host === "[::1]" || host === "::1";
}

export interface EnsureRedisOptions {
	/** Start a private redis-server when none answers at a loopback URL. */
	mayStart: boolean;
	/** Where the private redis-server is recorded, so a later start can stop one left behind. */
	dataDir: string;
}

/**
 * Finds Redis. When none answers at a loopback address and a redis-server binary is installed,
 * starts one there for the life of this process (see private-redis.ts), so a first `pnpm start`
 * needs nothing running. One left behind on that port by a server that died is stopped first. A
 * remote Redis that is down is an error.
 */
export async function ensureRedis(
	url: string,
	options: EnsureRedisOptions,
	log: FastifyBaseLogger,
): Promise<RedisEndpoint> {
	const port = new URL(url).port || "6379";
	if (isLoopback(url)) await stopLeftoverRedis(options.dataDir, port, log);
	if (await answers(url)) return { url, stop: async () => {} };
	if (!options.mayStart || !isLoopback(url) || !hasRedisServer()) {
		throw new Error(
			`Redis does not answer at ${url}. Start Redis 7 (e.g. \`apt-get install redis-server\`, or \`redis-server --maxmemory-policy noeviction\`) or set REDIS_URL to a running server.`,
		);
	}
	log.warn({ port }, "no Redis answers; starting a private redis-server for the life of this process");
	const redis = launchPrivateRedis(port, options.dataDir);
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		if (await answers(url)) return { url, stop: () => redis.stop() };
		await new Promise((r) => setTimeout(r, 100));
	}
	await redis.stop();
	throw new Error(`started redis-server on port ${port} but it did not answer within 10 s`);
}

export interface ApiRedisOptions {
	/** A command without a reply after this long fails (and the caller falls back or reports down). */
	commandTimeoutMs: number;
}

/**
 * The API's own Redis connection (rate limits, the readiness probe). Postgres holds the truth and
 * the outbox, so no request may wait on Redis: with no offline queue a command is refused at once
 * while disconnected, an in-flight one fails when the connection drops (no retries), and one the
 * server never answers times out. Reconnection goes on in the background with a capped backoff,
 * so the API notices within a couple of seconds that Redis is back. The workers' blocking
 * connections are made elsewhere (packages/jobs) and keep waiting out an outage, as BullMQ needs.
 */
export function createApiRedis(url: string, options: ApiRedisOptions): Redis {
	return new Redis(url, {
		connectionName: "igoudar-api",
		enableOfflineQueue: false,
		maxRetriesPerRequest: 0,
		autoResendUnfulfilledCommands: false,
		commandTimeout: options.commandTimeoutMs,
		connectTimeout: 2_000,
		retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
		enableReadyCheck: true,
	});
}

/** Resolves once the client is ready, or after `timeoutMs` (Redis may be down at start: serve anyway). */
export async function readyWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
	if (redis.status === "ready") return true;
	return new Promise<boolean>((resolve) => {
		const done = (ready: boolean) => {
			clearTimeout(timer);
			redis.off("ready", onReady);
			resolve(ready);
		};
		const onReady = () => done(true);
		const timer = setTimeout(() => done(false), timeoutMs);
		redis.once("ready", onReady);
	});
}

/**
 * The hash tag of a key prefix as Redis Cluster reads it: what lies between the first `{` and the
 * first `}` after it, if that is not empty; undefined otherwise. Every key the platform writes
 * starts with the prefix, so with a tag they all hash to one slot: BullMQ's scripts, which touch
 * several keys of a queue at once, need that on a cluster (a plain prefix fails with CROSSSLOT).
 * The platform's other keys (rate-limit counters, the audit election) are one key per command
 * and would work either way; pub/sub channels are not keys and reach every node.
 */
export function redisHashTag(prefix: string): string | undefined {
	const open = prefix.indexOf("{");
	if (open < 0) return undefined;
	const close = prefix.indexOf("}", open + 1);
	if (close < 0 || close === open + 1) return undefined;
	return prefix.slice(open + 1, close);
}
