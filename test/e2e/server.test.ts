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
			// The database-backed gauges are read on this timer, not at scrape time.
			IGOUDAR_METRICS_REFRESH_MS: "200",
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

	it("provisions, stops, starts and deletes an instance through the SDK, waiting on operations", async () => {
		const ops = createIgoudarClient({ baseUrl: server.url, ...operator });
		expect((await ops.POST("/v1/zones", { body: { name: "dajla-1", jurisdiction: "MA" } })).response.status).toBe(201);
		const host = await ops.POST("/v1/hosts", {
			body: {
				name: "hv-001",
				zone: "dajla-1",
				vcpus: 16,
				memory_mib: 65_536,
				disk_gib: 1000,
				power_idle_w: 90,
				power_max_w: 350,
			},
		});
		expect(host.response.status).toBe(201);
		expect(
			(await ops.POST("/v1/flavors", { body: { name: "c2-m4", vcpus: 2, memory_mib: 4096, disk_gib: 40 } })).response
				.status,
		).toBe(201);
		const tenant = await ops.POST("/v1/tenants", { body: { name: "e2e-compute", data_residency: ["MA"] } });
		const tenantId = tenant.data?.id ?? "";
		const path = { tenant_id: tenantId };

		const created = await ops.POST("/v1/tenants/{tenant_id}/instances", {
			params: { path },
			body: { name: "web-1", flavor: "c2-m4", labels: { app: "web" } },
		});
		expect(created.response.status).toBe(202);
		const instanceId = created.data?.instance.id ?? "";
		const done = await ops.waitForOperation(tenantId, created.data?.operation.id ?? "", { timeoutMs: 60_000 });
		expect(done).toMatchObject({ status: "succeeded", progress: 100, error: null });
		const running = await ops.GET("/v1/tenants/{tenant_id}/instances/{instance_id}", {
			params: { path: { ...path, instance_id: instanceId } },
		});
		expect(running.data).toMatchObject({ status: "running", zone: "dajla-1", flavor: "c2-m4", labels: { app: "web" } });
		// 90 W idle + 260 W of dynamic range x 2 of 16 cores allocated.
		const loaded = await ops.GET("/v1/hosts/{host_id}", { params: { path: { host_id: host.data?.id ?? "" } } });
		expect(loaded.data?.estimated_power_w).toBe(123);
		const power = 'igoudar_zone_estimated_power_watts{zone="dajla-1",jurisdiction="MA"} 123';
		let metrics = "";
		// The next refresh of the gauges shows the instance's draw.
		for (let tries = 0; tries < 50 && !metrics.includes(power); tries++) {
			if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
			metrics = await (await fetch(`${server.url}/metrics`)).text();
		}
		expect(metrics).toContain(power);
		expect(metrics).toMatch(/igoudar_operations_open\{status="pending"\} \d+/);
		expect(metrics).toMatch(/igoudar_outbox_backlog \d+/);

		for (const [action, status] of [
			["stop", "stopped"],
			["start", "running"],
		] as const) {
			const accepted = await ops.POST(`/v1/tenants/{tenant_id}/instances/{instance_id}/${action}`, {
				params: { path: { ...path, instance_id: instanceId } },
			});
			expect(accepted.response.status).toBe(202);
			await ops.waitForOperation(tenantId, accepted.data?.operation.id ?? "", { timeoutMs: 60_000 });
			const after = await ops.GET("/v1/tenants/{tenant_id}/instances/{instance_id}", {
				params: { path: { ...path, instance_id: instanceId } },
			});
			expect(after.data?.status).toBe(status);
		}

		const deleted = await ops.DELETE("/v1/tenants/{tenant_id}/instances/{instance_id}", {
			params: { path: { ...path, instance_id: instanceId } },
		});
		expect(deleted.response.status).toBe(202);
		const gone = await ops.waitForOperation(tenantId, deleted.data?.operation.id ?? "", { timeoutMs: 60_000 });
		expect(gone.status).toBe("succeeded");
		const quotas = await ops.GET("/v1/tenants/{tenant_id}/quotas", { params: { path } });
		expect(quotas.data?.items.filter((q) => q.used !== 0)).toEqual([]);
		const hostView = await ops.GET("/v1/hosts/{host_id}", { params: { path: { host_id: host.data?.id ?? "" } } });
		expect(hostView.data?.allocated).toMatchObject({ vcpus: 0, memory_mib: 0, instances: 0 });
		expect(hostView.data?.estimated_power_w).toBe(90);
	}, 120_000);

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

describe("igoudar-server on embedded PGlite, creating instances", () => {
	it("accepts one create and a burst of parallel ones and carries them all to running", async () => {
		const dir = mkdtempSync(join(tmpdir(), "igoudar-pglite-"));
		const server = await startServerProcess("all", {
			DATABASE_URL: "",
			IGOUDAR_PGLITE_DIR: dir,
			REDIS_URL: redisUrl,
			IGOUDAR_REDIS_PREFIX: `igpglite-creates-${process.pid}`,
			IGOUDAR_BOOTSTRAP_CLIENT_ID: operator.clientId,
			IGOUDAR_BOOTSTRAP_CLIENT_SECRET: operator.clientSecret,
		});
		try {
			const ops = createIgoudarClient({ baseUrl: server.url, ...operator });
			expect((await ops.POST("/v1/zones", { body: { name: "dajla-1", jurisdiction: "MA" } })).response.status).toBe(
				201,
			);
			const host = await ops.POST("/v1/hosts", {
				body: { name: "hv-001", zone: "dajla-1", vcpus: 64, memory_mib: 262_144, disk_gib: 4000 },
			});
			expect(host.response.status).toBe(201);
			const flavor = await ops.POST("/v1/flavors", {
				body: { name: "c1-m1", vcpus: 1, memory_mib: 1024, disk_gib: 10 },
			});
			expect(flavor.response.status).toBe(201);
			const tenant = await ops.POST("/v1/tenants", { body: { name: "pglite-compute" } });
			const path = { tenant_id: tenant.data?.id ?? "" };
			const raised = await ops.PATCH("/v1/tenants/{tenant_id}/quotas", {
				params: { path },
				body: { limits: { instances: 20 } },
			});
			expect(raised.response.status).toBe(200);

			// One alone (the one-create path), then twelve at once (group-committed together).
			const first = await ops.POST("/v1/tenants/{tenant_id}/instances", {
				params: { path },
				body: { name: "solo", flavor: "c1-m1", zone: "dajla-1" },
			});
			expect(first.response.status).toBe(202);
			const burst = await Promise.all(
				Array.from({ length: 12 }, (_, i) =>
					ops.POST("/v1/tenants/{tenant_id}/instances", {
						params: { path },
						body: { name: `burst-${i}`, flavor: "c1-m1", zone: "dajla-1" },
					}),
				),
			);
			expect(burst.map((r) => r.response.status)).toEqual(burst.map(() => 202));
			for (const created of [first, ...burst]) {
				const done = await ops.waitForOperation(path.tenant_id, created.data?.operation.id ?? "", {
					timeoutMs: 60_000,
				});
				expect(done.status).toBe("succeeded");
			}
			const quotas = await ops.GET("/v1/tenants/{tenant_id}/quotas", { params: { path } });
			expect(quotas.data?.items.find((q) => q.resource === "instances")?.used).toBe(13);
			const hostView = await ops.GET("/v1/hosts/{host_id}", { params: { path: { host_id: host.data?.id ?? "" } } });
			expect(hostView.data?.allocated).toMatchObject({ vcpus: 13, instances: 13 });
		} finally {
			await server.stop();
			rmSync(dir, { recursive: true, force: true });
		}
	}, 180_000);
});
