import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, testServerUrl } from "@igoudar/db/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess } from "../support/server-process";

const serverDir = fileURLToPath(new URL("../../services/server/", import.meta.url));

describe("the compiled runtime", () => {
	it("refuses to start, saying how to build, where nothing was built", () => {
		// The launcher alone, in a package folder with no dist/ beside it.
		const bin = join(mkdtempSync(join(tmpdir(), "igoudar-unbuilt-")), "bin");
		mkdirSync(bin);
		copyFileSync(join(serverDir, "bin/igoudar-server.mjs"), join(bin, "igoudar-server.mjs"));
		const result = spawnSync(process.execPath, [join(bin, "igoudar-server.mjs"), "--target=all"], { encoding: "utf8" });
		expect(result.status).toBe(1);
		expect(result.stderr).toContain("igoudar-server is not built: run `pnpm build`");
	});

	it("migrates a fresh database with the compiled migration runner the compose file starts", async () => {
		// Empty, not cloned from the migrated template; named as the test databases are, so a run
		// killed half-way leaves it to the stale-database sweep.
		const name = `igoudar_t_db_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
		const admin = new pg.Client({ connectionString: testServerUrl });
		await admin.connect();
		await admin.query(`create database ${name}`);
		const url = new URL(testServerUrl);
		url.pathname = `/${name}`;
		try {
			const result = spawnSync(process.execPath, [join(serverDir, "dist/migrate.mjs")], {
				encoding: "utf8",
				env: { ...process.env, DATABASE_URL: url.toString() },
			});
			expect(result.stderr).toBe("");
			expect(result.stdout).toContain("migrations applied (postgres)");
			const client = new pg.Client({ connectionString: url.toString() });
			await client.connect();
			const { rows } = await client.query<{ count: string }>(
				"select count(*) from information_schema.tables where table_name = 'operations'",
			);
			await client.end();
			expect(rows[0]?.count).toBe("1");
		} finally {
			await admin.query(`drop database if exists ${name} with (force)`);
			await admin.end();
		}
	}, 60_000);
});

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
