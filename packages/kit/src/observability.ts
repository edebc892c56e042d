import type { FastifyInstance } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { Type } from "typebox";

export interface Probe {
	name: string;
	check(): Promise<void>;
}

/** Gives a probe a deadline so a hung dependency reads as "down", not as a hung readiness check. */
async function withTimeout(probe: Probe, ms: number): Promise<string> {
	let timer: NodeJS.Timeout | undefined;
	try {
		await Promise.race([
			probe.check(),
			new Promise((_, reject) => {
				timer = setTimeout(() => reject(new Error("timeout")), ms);
			}),
		]);
		return "ok";
	} catch (error) {
		return error instanceof Error ? `down: ${error.message}` : "down";
	} finally {
		clearTimeout(timer);
	}
}

export function createMetrics(): { registry: Registry; requests: Counter; duration: Histogram } {
	const registry = new Registry();
	collectDefaultMetrics({ register: registry });
	const requests = new Counter({
		name: "igoudar_http_requests_total",
		help: "HTTP requests answered, by route and status.",
		labelNames: ["method", "route", "status"],
		registers: [registry],
	});
	const duration = new Histogram({
		name: "igoudar_http_request_duration_seconds",
		help: "HTTP request latency, by route.",
		labelNames: ["method", "route"],
		buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
		registers: [registry],
	});
	return { registry, requests, duration };
}

const ServiceTag = ["service"];

export function registerServiceEndpoints(app: FastifyInstance, probes: Probe[], registry: Registry): void {
	app.get(
		"/healthz",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Liveness: the process is up",
				operationId: "healthCheck",
				tags: ServiceTag,
				response: { 200: Type.Object({ status: Type.Literal("ok") }) },
			},
		},
		async () => ({ status: "ok" as const }),
	);

	const Checks = Type.Record(Type.String(), Type.String());
	app.get(
		"/readyz",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Readiness: the database and Redis answer",
				operationId: "readinessCheck",
				tags: ServiceTag,
				response: {
					200: Type.Object({ status: Type.Literal("ready"), checks: Checks }),
					503: Type.Object({ status: Type.Literal("unavailable"), checks: Checks }),
				},
			},
		},
		async (_request, reply) => {
			const results = await Promise.all(probes.map(async (p) => [p.name, await withTimeout(p, 2_000)] as const));
			const checks = Object.fromEntries(results);
			const ready = results.every(([, v]) => v === "ok");
			return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks });
		},
	);

	app.get(
		"/metrics",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Prometheus metrics",
				operationId: "metricsGet",
				tags: ServiceTag,
				produces: ["text/plain"],
				response: {
					200: {
						description: "Prometheus text exposition format.",
						content: { "text/plain": { schema: Type.String() } },
					},
				},
			},
		},
		async (_request, reply) => {
			reply.header("content-type", registry.contentType);
			return registry.metrics();
		},
	);
}
