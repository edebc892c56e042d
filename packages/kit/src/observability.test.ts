import Fastify from "fastify";
import { validate, version } from "uuid";
import { describe, expect, it } from "vitest";
import { createMetrics, newRequestId, requestRecorder } from "./observability";

describe("request ids", () => {
	it("are distinct UUIDv7s whose time prefix follows the clock, across refills of the random pool", () => {
		const before = Date.now();
		const ids = Array.from({ length: 1_000 }, () => newRequestId());
		const after = Date.now();
		expect(new Set(ids).size).toBe(ids.length);
		for (const id of ids) {
			expect(validate(id) && version(id)).toBe(7);
			const msecs = Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);
			expect(msecs).toBeGreaterThanOrEqual(before);
			expect(msecs).toBeLessThanOrEqual(after);
		}
	});
});

describe("requestRecorder", () => {
	it("counts every answer under its method, route template and status, and times it", async () => {
		const metrics = createMetrics();
		const app = Fastify();
		app.addHook("onResponse", requestRecorder(metrics));
		app.get("/things/:id", async (request, reply) =>
			(request.params as { id: string }).id === "missing" ? reply.code(404).send({}) : {},
		);
		for (const id of ["a", "b", "missing"]) await app.inject({ method: "GET", url: `/things/${id}` });
		await app.inject({ method: "GET", url: "/nowhere" });
		const text = await metrics.registry.metrics();
		expect(text).toContain('igoudar_http_requests_total{method="GET",route="/things/:id",status="200"} 2');
		expect(text).toContain('igoudar_http_requests_total{method="GET",route="/things/:id",status="404"} 1');
		expect(text).toContain('igoudar_http_requests_total{method="GET",route="unmatched",status="404"} 1');
		expect(text).toContain('igoudar_http_request_duration_seconds_count{method="GET",route="/things/:id"} 3');
		await app.close();
	});
});
