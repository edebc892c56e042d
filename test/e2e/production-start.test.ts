import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/server-process";

describe("igoudar-server with NODE_ENV=production", () => {
	let database: TestDatabase;
	beforeAll(async () => {
		database = await createTestDatabase();
	});
	afterAll(async () => {
		await database?.drop();
	});

	it("exits before touching anything when IGOUDAR_KEY_ENCRYPTION_SECRET is unset, saying why", async () => {
		await expect(
			startServerProcess("all", {
				NODE_ENV: "production",
				DATABASE_URL: database.url,
				IGOUDAR_KEY_ENCRYPTION_SECRET: "",
			}),
		).rejects.toThrow(/exited with 1 before listening:[\s\S]*NODE_ENV=production needs IGOUDAR_KEY_ENCRYPTION_SECRET/);
	}, 60_000);

	it("starts with the secret, and its keys are sealed", async () => {
		const server = await startServerProcess("all", {
			NODE_ENV: "production",
			DATABASE_URL: database.url,
			IGOUDAR_KEY_ENCRYPTION_SECRET: "a-production-secret-of-at-least-32-characters",
		});
		try {
			expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
			const client = new pg.Client({ connectionString: database.url });
			await client.connect();
			const { rows } = await client.query<{ sealed: string | null }>(
				"select private_jwk->>'sealed' as sealed from signing_keys",
			);
			await client.end();
			expect(rows.length).toBeGreaterThan(0);
			expect(rows.every((row) => row.sealed === "A256GCM")).toBe(true);
		} finally {
			expect(await server.stop("SIGTERM")).toBe(0);
		}
	}, 90_000);
});
