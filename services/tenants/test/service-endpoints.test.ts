import { createApp, createAuthenticator } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";

const t = useTestPlatform();

interface OpenApiOperation {
	operationId?: string;
	security?: unknown[];
	responses?: Record<string, unknown>;
}
interface OpenApiDocument {
	openapi: string;
	paths: Record<string, Record<string, OpenApiOperation>>;
	components?: { securitySchemes?: Record<string, unknown> };
}

// Hidden on purpose: the spec does not describe the endpoint that serves it.
const UNDOCUMENTED = new Set(["GET /openapi.json"]);

describe("service endpoints", () => {
	it("answers /healthz with 200 and no token", async () => {
		const res = await t.request("GET", "/healthz");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: "ok" });
		expect(res.headers["x-request-id"]).toBeTruthy();
	});

	it("answers /readyz with 200 when the database and Redis answer", async () => {
		const res = await t.request("GET", "/readyz");
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: "ready", checks: { database: "ok", redis: "ok" } });
	});

	it("answers /readyz with 503 naming the dependency that is down", async () => {
		// A separate app with one failing probe: the platform's own probes are healthy here.
		const { app } = await createApp({
			db: t.db,
			authenticator: createAuthenticator(t.db, t.config.kit),
			config: t.config.kit,
			logger: false,
			probes: [
				{ name: "database", check: async () => {} },
				{ name: "redis", check: () => Promise.reject(new Error("connection refused")) },
			],
		});
		try {
			const res = await app.inject({ method: "GET", url: "/readyz" });
			expect(res.statusCode).toBe(503);
			expect(res.json()).toEqual({
				status: "unavailable",
				checks: { database: "ok", redis: "down: connection refused" },
			});
		} finally {
			await app.close();
		}
	});

	it("serves Prometheus text with the request counter, labelled by route template", async () => {
		await t.request("GET", "/healthz");
		await t.request("GET", "/v1/tenants");
		const res = await t.app.inject({ method: "GET", url: "/metrics" });
		expect(res.statusCode).toBe(200);
		expect(res.headers["content-type"]).toMatch(/^text\/plain/);
		expect(res.body).toContain("# TYPE igoudar_http_requests_total counter");
		expect(res.body).toMatch(/igoudar_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/);
		expect(res.body).toMatch(/igoudar_http_requests_total\{method="GET",route="\/v1\/tenants",status="401"\} [1-9]/);
		expect(res.body).toContain("igoudar_http_request_duration_seconds_bucket");
	});

	it("labels unmatched paths as one route, so scanners cannot blow up the label set", async () => {
		await t.request("GET", "/wp-admin/setup.php");
		const res = await t.app.inject({ method: "GET", url: "/metrics" });
		expect(res.body).not.toContain("wp-admin");
	});

	it("serves /openapi.json documenting every mounted route, with its operationId and security", async () => {
		const res = await t.request<OpenApiDocument>("GET", "/openapi.json");
		expect(res.status).toBe(200);
		expect(res.body.openapi).toBe("3.1.0");
		expect(res.body.components?.securitySchemes).toHaveProperty("bearer");

		let documented = 0;
		for (const route of t.platform.routes) {
			const label = `${route.method} ${route.url}`;
			if (UNDOCUMENTED.has(label)) continue;
			const path = route.url.replace(/:([A-Za-z_]+)/g, "{$1}");
			const operation = res.body.paths[path]?.[route.method.toLowerCase()];
			expect(operation, `${label} missing from the spec`).toBeDefined();
			expect(operation?.operationId, label).toBe(route.operationId);
			if ("public" in route.access) {
				expect(operation?.security, label).toEqual([]);
			} else {
				// A protected route must tell SDK users it can answer 401.
				expect(Object.keys(operation?.responses ?? {}), label).toEqual(expect.arrayContaining(["401", "403"]));
				expect(operation?.security, label).not.toEqual([]);
			}
			documented++;
		}
		expect(documented).toBeGreaterThanOrEqual(17);
		// operationIds are unique: the SDK names its methods after them.
		const ids = t.platform.routes.map((r) => r.operationId);
		expect(new Set(ids).size).toBe(ids.length);
	});

	it("serves the interactive reference at /docs without a token", async () => {
		const res = await t.app.inject({ method: "GET", url: "/docs/" });
		expect(res.statusCode).toBe(200);
		expect(res.headers["content-type"]).toMatch(/^text\/html/);
	});
});
