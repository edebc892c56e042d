import { createHash, randomFillSync, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { Type } from "typebox";
import { v7 as uuidv7 } from "uuid";
import { problems } from "./errors";
import type { AddressLimits } from "./rate-limit";
import { errorResponses, resourceSchema } from "./schemas";

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

/** The request's metrics once its labels are known: prom-client hashes a label set on every call. */
interface RouteMetrics {
	requests: { inc(): void };
	duration: { observe(seconds: number): void };
}

/**
 * What every answered request leaves behind: one log line and the two HTTP metrics. The labelled
 * metrics are kept per method, route template and status (a bounded set: unmatched paths share
 * the route "unmatched"), so a request costs two additions instead of two label lookups.
 */
export function requestRecorder(metrics: { requests: Counter; duration: Histogram }) {
	const byLabels = new Map<string, RouteMetrics>();
	return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
		reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, "request completed");
		const route = request.routeOptions.url ?? "unmatched";
		const status = String(reply.statusCode);
		const key = `${request.method} ${route} ${status}`;
		let labelled = byLabels.get(key);
		if (!labelled) {
			labelled = {
				requests: metrics.requests.labels(request.method, route, status),
				duration: metrics.duration.labels(request.method, route),
			};
			byLabels.set(key, labelled);
		}
		labelled.requests.inc();
		labelled.duration.observe(reply.elapsedTime / 1000);
		done();
	};
}

// Random bits for request ids, drawn from the system a few kilobytes at a time: one
// getRandomValues call per id cost about a twentieth of a read's CPU time.
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomPoolAt = RANDOM_POOL_BYTES;

/** A UUIDv7 (time-ordered, so request ids sort with the log) for a request that brought no usable id. */
export function newRequestId(): string {
	if (randomPoolAt + 16 > randomPool.length) {
		randomPool = randomFillSync(Buffer.allocUnsafe(RANDOM_POOL_BYTES));
		randomPoolAt = 0;
	}
	const random = randomPool.subarray(randomPoolAt, randomPoolAt + 16);
	randomPoolAt += 16;
	return uuidv7({ random });
}

const ServiceTag = ["service"];

export interface MetricsAccess {
	/** When set, a scrape must send it as a bearer token. */
	metricsToken?: string;
	/** Counts a wrong token against the caller's address like any failed authentication. */
	addressLimits?: AddressLimits;
}

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
	const digest = (value: string) => createHash("sha256").update(value).digest();
	return timingSafeEqual(digest(given), digest(expected));
}

async function checkMetricsToken(request: FastifyRequest, access: MetricsAccess): Promise<void> {
	if (!access.metricsToken) return;
	const match = /^Bearer (\S+)$/i.exec(request.headers.authorization?.trim() ?? "");
	if (match?.[1] && sameSecret(match[1], access.metricsToken)) return;
	const refusal = problems.unauthenticated("This deployment wants its metrics token as a bearer token.");
	throw (await access.addressLimits?.failedAuthentication(request)) ?? refusal;
}

export function registerServiceEndpoints(
	app: FastifyInstance,
	probes: Probe[],
	registry: Registry,
	access: MetricsAccess = {},
): void {
	app.get(
		"/healthz",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Liveness: the process is up",
				operationId: "healthCheck",
				tags: ServiceTag,
				response: { 200: resourceSchema("Health", Type.Object({ status: Type.Literal("ok") }), { status: "ok" }) },
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
					200: resourceSchema("Ready", Type.Object({ status: Type.Literal("ready"), checks: Checks }), {
						status: "ready",
						checks: { database: "ok", redis: "ok" },
					}),
					503: resourceSchema("NotReady", Type.Object({ status: Type.Literal("unavailable"), checks: Checks }), {
						status: "unavailable",
						checks: { database: "ok", redis: "timeout" },
					}),
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
				description:
					"Served from memory: scrapes cost no database query (the platform gauges are refreshed on a timer). When the deployment sets IGOUDAR_METRICS_TOKEN, send it as `Authorization: Bearer <token>`.",
				operationId: "metricsGet",
				tags: ServiceTag,
				produces: ["text/plain"],
				response: {
					200: {
						description: "Prometheus text exposition format.",
						content: { "text/plain": { schema: Type.String() } },
					},
					...errorResponses("unauthenticated", "rate_limited"),
				},
			},
		},
		async (request, reply) => {
			await checkMetricsToken(request, access);
			reply.header("content-type", registry.contentType);
			return registry.metrics();
		},
	);
}
