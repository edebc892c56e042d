import { createServer } from "node:net";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
