import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateRedisRecord, pidfilePath, processStartTime } from "../../services/server/src/private-redis";
import { startPrivateRedis } from "../support/redis-server";
import { startServerProcess } from "../support/server-process";

/**
 * A port below the ephemeral range (where outgoing connections take theirs), free right now.
 * redis-server binds it moments later; a clash with another test is then vanishingly unlikely.
 */
async function freePort(): Promise<number> {
	for (;;) {
		const port = 20_000 + Math.floor(Math.random() * 10_000);
		const free = await new Promise<boolean>((resolve) => {
			const server = createServer();
			server.once("error", () => resolve(false));
			server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
		});
		if (free) return port;
	}
}

async function pings(url: string): Promise<boolean> {
	const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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

describe("igoudar-server when no Redis answers", () => {
	let database: TestDatabase;
	beforeAll(async () => {
		database = await createTestDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	it("starts a private redis-server on a loopback REDIS_URL for the life of the process", async () => {
		const url = `redis://127.0.0.1:${await freePort()}`;
		expect(await pings(url)).toBe(false);
		const server = await startServerProcess("all", { DATABASE_URL: database.url, REDIS_URL: url });
		try {
			expect(server.output()).toContain("starting a private redis-server");
			const ready = await fetch(`${server.url}/readyz`);
			expect(await ready.json()).toMatchObject({ status: "ready", checks: { redis: "ok" } });
			expect(await pings(url)).toBe(true);
		} finally {
			expect(await server.stop("SIGTERM")).toBe(0);
		}
		expect(await pings(url)).toBe(false);
	}, 120_000);

	it("exits with a message saying what to do when it may not start one", async () => {
		const url = `redis://127.0.0.1:${await freePort()}`;
		await expect(
			startServerProcess("all", { DATABASE_URL: database.url, REDIS_URL: url, IGOUDAR_REDIS_AUTOSTART: "false" }),
		).rejects.toThrow(/Redis does not answer at .*Start Redis 7/s);
	}, 120_000);
});

/** The pid the redis-server answering at `url` reports for itself. */
async function redisPid(url: string): Promise<number> {
	const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
	client.on("error", () => {});
	try {
		await client.connect();
		const info = await client.info("server");
		return Number(/process_id:(\d+)/.exec(info)?.[1]);
	} finally {
		client.disconnect();
	}
}

const isRunning = (pid: number) => processStartTime(pid) !== undefined;

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return true;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	return check();
}

/** A process that has come and gone: what the pidfile of a killed server names as the owner. */
async function deadProcess(): Promise<{ pid: number; startTime: string }> {
	const child = spawn("sleep", ["30"], { stdio: "ignore" });
	const pid = child.pid ?? 0;
	await until(() => processStartTime(pid) !== undefined);
	const startTime = processStartTime(pid) ?? "";
	const exited = new Promise((resolve) => child.once("exit", resolve));
	child.kill("SIGKILL");
	await exited;
	return { pid, startTime };
}

describe.skipIf(!existsSync("/proc/self/stat"))("a private redis-server never outlives its server", () => {
	let database: TestDatabase;
	let dataDir: string;
	beforeAll(async () => {
		database = await createTestDatabase();
		dataDir = mkdtempSync(join(tmpdir(), "igoudar-data-"));
	});
	afterAll(async () => {
		await database?.drop();
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	});

	it("is gone after a SIGKILL of its server, and the next start on that port runs cleanly", async () => {
		const port = String(await freePort());
		const url = `redis://127.0.0.1:${port}`;
		const env = { DATABASE_URL: database.url, REDIS_URL: url, IGOUDAR_STATE_DIR: dataDir };
		const first = await startServerProcess("all", env);
		const pid = await redisPid(url);
		const record = JSON.parse(readFileSync(pidfilePath(dataDir, port), "utf8")) as PrivateRedisRecord;
		expect(record.redis.pid).toBe(pid);
		expect(record.owner.pid).toBe(first.child.pid);

		await first.stop("SIGKILL");
		// The kernel's parent-death signal stops it at once; failing that, the next start does.
		await until(() => !isRunning(pid), 5_000);
		const second = await startServerProcess("all", env);
		try {
			expect(isRunning(pid)).toBe(false);
			expect(await redisPid(url)).not.toBe(pid);
		} finally {
			expect(await second.stop("SIGTERM")).toBe(0);
		}
		expect(await pings(url)).toBe(false);
		expect(existsSync(pidfilePath(dataDir, port))).toBe(false);
	}, 120_000);

	it("is stopped by the next start when a dead server's pidfile names it", async () => {
		const leftover = await startPrivateRedis();
		const port = String(leftover.port);
		const pid = await redisPid(leftover.url);
		const record: PrivateRedisRecord = {
			port,
			redis: { pid, startTime: processStartTime(pid) ?? "" },
			owner: await deadProcess(),
		};
		writeFileSync(pidfilePath(dataDir, port), JSON.stringify(record));
		const server = await startServerProcess("all", {
			DATABASE_URL: database.url,
			REDIS_URL: leftover.url,
			IGOUDAR_STATE_DIR: dataDir,
		});
		try {
			expect(server.output()).toContain("stopping the private redis-server a previous run left behind");
			expect(await until(() => !isRunning(pid))).toBe(true);
			// It started its own in its place.
			expect(await redisPid(leftover.url)).not.toBe(pid);
		} finally {
			expect(await server.stop("SIGTERM")).toBe(0);
			await leftover.stop();
		}
	}, 120_000);

	it("leaves alone a process that is not its redis-server, and one whose server still runs", async () => {
		// A pidfile naming something else (the pid was reused, or the file was tampered with).
		const stranger = spawn("sleep", ["60"], { stdio: "ignore" });
		const strangerPid = stranger.pid ?? 0;
		await until(() => isRunning(strangerPid));
		const strangerPort = String(await freePort());
		writeFileSync(
			pidfilePath(dataDir, strangerPort),
			JSON.stringify({
				port: strangerPort,
				redis: { pid: strangerPid, startTime: processStartTime(strangerPid) },
				owner: await deadProcess(),
			}),
		);
		// A redis-server whose owner (this test process) is alive: another server's, in use.
		const shared = await startPrivateRedis();
		const sharedPid = await redisPid(shared.url);
		const ownerStart = processStartTime(process.pid) ?? "";
		writeFileSync(
			pidfilePath(dataDir, String(shared.port)),
			JSON.stringify({
				port: String(shared.port),
				redis: { pid: sharedPid, startTime: processStartTime(sharedPid) },
				owner: { pid: process.pid, startTime: ownerStart },
			}),
		);
		try {
			for (const url of [`redis://127.0.0.1:${strangerPort}`, shared.url]) {
				const server = await startServerProcess("all", {
					DATABASE_URL: database.url,
					REDIS_URL: url,
					IGOUDAR_STATE_DIR: dataDir,
				});
				expect(await server.stop("SIGTERM")).toBe(0);
			}
			expect(isRunning(strangerPid)).toBe(true);
			expect(await redisPid(shared.url)).toBe(sharedPid);
		} finally {
			stranger.kill("SIGKILL");
			await shared.stop();
		}
	}, 120_000);
});
