import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import type { FastifyBaseLogger } from "fastify";
import { Redis } from "ioredis";

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

/**
 * Finds Redis. When none answers at a loopback address and a redis-server binary is installed,
 * starts one there for the life of this process (memory only, `noeviction` as BullMQ requires),
 * so a first `pnpm start` needs nothing running. A remote Redis that is down is an error.
 */
export async function ensureRedis(url: string, mayStart: boolean, log: FastifyBaseLogger): Promise<RedisEndpoint> {
	if (await answers(url)) return { url, stop: async () => {} };
	if (!mayStart || !isLoopback(url) || !hasRedisServer()) {
		throw new Error(
			`Redis does not answer at ${url}. Start Redis 7 (e.g. \`apt-get install redis-server\`, or \`redis-server --maxmemory-policy noeviction\`) or set REDIS_URL to a running server.`,
		);
	}
	const port = new URL(url).port || "6379";
	log.warn({ port }, "no Redis answers; starting a private redis-server for the life of this process");
	const child: ChildProcess = spawn(
		"redis-server",
		["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
		{ stdio: "ignore" },
	);
	const deadline = Date.now() + 10_000;
	while (Date.now() < deadline) {
		if (await answers(url)) {
			return {
				url,
				stop: async () => {
					if (child.exitCode !== null) return;
					const exited = new Promise((resolve) => child.once("exit", resolve));
					child.kill("SIGTERM");
					await exited;
				},
			};
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	child.kill("SIGKILL");
	throw new Error(`started redis-server on port ${port} but it did not answer within 10 s`);
}

export function createRedis(url: string): Redis {
	// BullMQ workers need maxRetriesPerRequest: null; for plain commands it is harmless.
	return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}
