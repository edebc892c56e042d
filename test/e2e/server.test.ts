import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { createIgoudarClient } from "@igoudar/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process";

const operator = { clientId: "igc_e2e_operator", clientSecret: "igs_e2e-operator-secret-123456789" };
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

describe("igoudar-server on a Postgres server, driven through the SDK", () => {
	let database: TestDatabase;
	let server: ServerProcess;
	beforeAll(async () => {
		database = await createTestDatabase();
		server = await startServerProcess("all", {
			DATABASE_URL: database.url,
			REDIS_URL: redisUrl,
			IGOUDAR_REDIS_PREFIX: `ige2e-${process.pid}`,
			IGOUDAR_BOOTSTRAP_CLIENT_ID: operator.clientId,
			IGOUDAR_BOOTSTRAP_CLIENT_SECRET: operator.clientSecret,
		});
	}, 90_000);
	afterAll(async () => {
		await server?.stop();
		await database?.drop();
	});

	it("serves tokens, tenants, service accounts and quotas over HTTP", async () => {
		const ops = createIgoudarClient({ baseUrl: server.url, ...operator });
		const tenant = await ops.POST("/v1/tenants", { body: { name: "e2e-acme", data_residency: ["MA"] } });
		expect(tenant.response.status).toBe(201);
		const tenantId = tenant.data?.id ?? "";
		expect(server.output()).toContain('"database":"postgres"');

		const account = await ops.POST("/v1/tenants/{tenant_id}/service-accounts", {
			params: { path: { tenant_id: tenantId } },
			body: { name: "deployer", role: "member" },
		});
		expect(account.response.status).toBe(201);

		const member = createIgoudarClient({
			baseUrl: server.url,
			clientId: account.data?.client_id,
			clientSecret: account.data?.client_secret,
		});
		const quotas = await member.GET("/v1/tenants/{tenant_id}/quotas", { params: { path: { tenant_id: tenantId } } });
		expect(quotas.data?.items.find((q) => q.resource === "instances")).toMatchObject({ used: 0 });

		const forbidden = await member.PATCH("/v1/tenants/{tenant_id}/quotas", {
			params: { path: { tenant_id: tenantId } },
			body: { limits: { instances: 100 } },
		});
		expect(forbidden.response.status).toBe(403);
		expect(forbidden.error).toMatchObject({ code: "forbidden" });

		const raised = await ops.PATCH("/v1/tenants/{tenant_id}/quotas", {
			params: { path: { tenant_id: tenantId } },
			body: { limits: { instances: 100 } },
		});
		expect(raised.data?.items.find((q) => q.resource === "instances")?.limit).toBe(100);
	});

	it("stops cleanly on SIGTERM", async () => {
		const code = await server.stop("SIGTERM");
		expect(code).toBe(0);
	});
});

describe("igoudar-server with no DATABASE_URL", () => {
	it("comes up on embedded PGlite and answers /readyz", async () => {
		const dir = mkdtempSync(join(tmpdir(), "igoudar-pglite-"));
		const env: NodeJS.ProcessEnv = {
			IGOUDAR_PGLITE_DIR: dir,
			REDIS_URL: redisUrl,
			IGOUDAR_REDIS_PREFIX: `igpglite-${process.pid}`,
		};
		const server = await startServerProcess("all", { ...env, DATABASE_URL: "" });
		try {
			const ready = await fetch(`${server.url}/readyz`);
			expect(ready.status).toBe(200);
			expect(await ready.json()).toMatchObject({ status: "ready", checks: { database: "ok", redis: "ok" } });
			expect(server.output()).toContain('"database":"pglite"');
			// No operator was configured: the first one is created and its credential printed once.
			expect(server.output()).toContain("created the first operator credential");
		} finally {
			await server.stop();
			rmSync(dir, { recursive: true, force: true });
		}
	}, 120_000);
});
