import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCatalog, defineJob, QueueSet, redisConnectionFactory, startWorkers } from "@igoudar/jobs";
import { silentLogger } from "@igoudar/jobs/testing";
import { Redis } from "ioredis";
import { Type } from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REDIS_PREFIX } from "../../services/server/src/config";
import { redisHashTag } from "../../services/server/src/redis";
import { freePort, pings } from "../support/redis-server";

/**
 * The Redis key prefix on a Redis Cluster. A one-node cluster owning all 16,384 slots refuses a
 * command or script that touches keys of different slots (CROSSSLOT) just as a many-node one
 * does, so it shows whether the platform's keys keep to the rules without a fleet of nodes.
 */

const catalog = defineCatalog({
	"cluster.ping": defineJob({
		name: "cluster.ping",
		queue: "cluster-test",
		payload: Type.Object({ n: Type.Integer() }),
		attempts: 3,
		backoff: { type: "exponential", delay: 10 },
	}),
});

let server: ChildProcess | undefined;
let dir: string;
let url: string;

beforeAll(async () => {
	const port = await freePort();
	dir = mkdtempSync(join(tmpdir(), "igoudar-cluster-"));
	server = spawn(
		"redis-server",
		[
			"--port",
			String(port),
			"--bind",
			"127.0.0.1",
			"--cluster-enabled",
			"yes",
			"--cluster-config-file",
			join(dir, "nodes.conf"),
			"--save",
			"",
			"--appendonly",
			"no",
			"--dir",
			dir,
		],
		{ stdio: "ignore" },
	);
	url = `redis://127.0.0.1:${port}`;
	const deadline = Date.now() + 30_000;
	while (!(await pings(url))) {
		if (Date.now() > deadline) throw new Error("redis-server in cluster mode did not start");
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	const admin = new Redis(url);
	try {
		await admin.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
		while (!String(await admin.call("CLUSTER", "INFO")).includes("cluster_state:ok")) {
			if (Date.now() > deadline) throw new Error("the one-node cluster did not come up");
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	} finally {
		admin.disconnect();
	}
}, 60_000);

afterAll(async () => {
	if (server && server.exitCode === null) {
		const exited = new Promise((resolve) => server?.once("exit", resolve));
		server.kill("SIGTERM");
		await exited;
	}
	if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Queues `count` jobs under `prefix` and resolves with the payloads a worker ran. */
async function runJobs(prefix: string, count: number): Promise<number[]> {
	const ran: number[] = [];
	const connection = redisConnectionFactory(url);
	const runner = await startWorkers({
		catalog,
		handlers: {
			"cluster.ping": async (job) => {
				ran.push(job.payload.n);
			},
		},
		connection,
		prefix,
		logger: silentLogger(),
		concurrency: 4,
	});
	const queues = new QueueSet({ connection, prefix, connectionName: "igoudar-cluster-test" });
	try {
		for (let n = 0; n < count; n++) {
			await queues.get("cluster-test").add("cluster.ping", { n }, { jobId: `job-${n}`, attempts: 3 });
		}
		const deadline = Date.now() + 20_000;
		while (ran.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
		return ran.sort((a, b) => a - b);
	} finally {
		await queues.close();
		await runner.close();
	}
}

describe("the Redis key prefix on a Redis Cluster", () => {
	it("is hash-tagged by default", () => {
		expect(redisHashTag(DEFAULT_REDIS_PREFIX)).toBe("igoudar");
		expect(redisHashTag("igoudar")).toBeUndefined();
		expect(redisHashTag("{}igoudar")).toBeUndefined();
		expect(redisHashTag("prod-{igoudar}")).toBe("igoudar");
	});

	it("runs BullMQ jobs with a hash-tagged prefix", async () => {
		expect(await runJobs(`{igoudar-${process.pid}}`, 5)).toEqual([0, 1, 2, 3, 4]);
	}, 60_000);

	it("is refused with CROSSSLOT without one (what the tag prevents)", async () => {
		await expect(runJobs(`igoudar-${process.pid}`, 1)).rejects.toThrow(/CROSSSLOT/);
	}, 60_000);

	it("keeps every key of a queue in the tag's slot", async () => {
		const prefix = `{igoudar-${process.pid}-slots}`;
		await runJobs(prefix, 2);
		const redis = new Redis(url);
		try {
			const keys = await redis.keys(`${prefix}:*`);
			expect(keys.length).toBeGreaterThan(2);
			const slots = new Set(await Promise.all(keys.map((key) => redis.call("CLUSTER", "KEYSLOT", key))));
			expect(slots.size).toBe(1);
		} finally {
			redis.disconnect();
		}
	}, 60_000);
});
