import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { ProblemError } from "./errors";

export interface RateLimitSettings {
	redis: Redis;
	/** Key prefix, so deployments (and test runs) sharing a Redis keep separate counters. */
	prefix: string;
	/** Requests per minute per authenticated principal. */
	perMinute: number;
	/** Token requests per minute per client id and address: each one costs a scrypt hash. */
	tokenPerMinute: number;
}

export const TOKEN_ROUTE = "/v1/auth/token";

function isTokenRoute(request: FastifyRequest): boolean {
	return request.routeOptions.url === TOKEN_ROUTE;
}

/**
 * Fixed-window limits counted in Redis, so every replica enforces the same budget. Checked in
 * preValidation: after authentication (the principal is the key) and before an Idempotency-Key
 * is claimed, so a refused request never occupies a key.
 */
export async function registerRateLimit(app: FastifyInstance, settings: RateLimitSettings): Promise<void> {
	await app.register(rateLimit, {
		global: true,
		hook: "preValidation",
		timeWindow: 60_000,
		redis: settings.redis,
		nameSpace: `${settings.prefix}:ratelimit:`,
		// Counting must not become a single point of failure: if Redis is down, serve.
		skipOnError: true,
		max: (request) => (isTokenRoute(request) ? settings.tokenPerMinute : settings.perMinute),
		allowList: (request) => {
			const access = request.routeOptions.config?.access;
			return access !== undefined && "public" in access && !isTokenRoute(request);
		},
		keyGenerator: (request) => {
			if (isTokenRoute(request)) {
				const clientId = (request.body as { client_id?: unknown } | undefined)?.client_id;
				return `token:${request.ip}:${typeof clientId === "string" ? clientId.slice(0, 255) : ""}`;
			}
			return request.principal ? `principal:${request.principal.id}` : `ip:${request.ip}`;
		},
		errorResponseBuilder: (_request, context) =>
			new ProblemError(
				"rate_limited",
				`Rate limit of ${context.max} requests per minute reached; retry after ${context.after}.`,
			),
	});
}
