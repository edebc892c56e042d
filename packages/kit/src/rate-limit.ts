import { createHash } from "node:crypto";
import rateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { tokenRequestClientId } from "./client-auth";
import { ProblemError } from "./errors";
import { type Reservation, SlicedBudgets } from "./rate-budget";
import { appendRouteHook } from "./route-hooks";

export interface RateLimitSettings {
	/**
	 * The API's own connection, built to fail fast (no offline queue, a command timeout): a
	 * request must never wait on Redis. Workers' blocking connections must not be passed here.
	 */
	redis: Redis;
	/** Key prefix, so deployments (and test runs) sharing a Redis keep separate counters. */
	prefix: string;
	/** Requests per minute per authenticated principal. */
	perMinute: number;
	/** Token requests per minute per client id, from any address: each one costs a scrypt hash. */
	tokenPerMinute: number;
	/** Token requests per minute per client address, whatever client ids it sends. */
	tokenPerAddressPerMinute: number;
	/** Failed bearer authentications per minute per client address; past it they answer 429. */
	authFailuresPerMinute: number;
	/** After a failed Redis call, count locally this long before asking Redis again (default 1 s). */
	retryRedisAfterMs?: number;
	/** Most keys the in-process fallback remembers (default 10 000); the oldest go first. */
	localKeys?: number;
}

export const TOKEN_ROUTE = "/v1/auth/token";

interface Count {
	current: number;
	/** Milliseconds left in the window. */
	ttl: number;
}

/**
 * Fixed windows in this process's memory, bounded so a flood of distinct keys cannot grow it
 * without limit (a Map iterates in insertion order, so re-inserting on use keeps it an LRU).
 */
export class LocalWindows {
	private readonly windows = new Map<string, { count: number; resetAt: number }>();

	constructor(readonly maxKeys: number) {}

	incr(key: string, windowMs: number, now = Date.now()): Count {
		let window = this.windows.get(key);
		if (!window || window.resetAt <= now) window = { count: 0, resetAt: now + windowMs };
		window.count += 1;
		this.windows.delete(key);
		this.windows.set(key, window);
		if (this.windows.size > this.maxKeys) {
			const oldest = this.windows.keys().next().value;
			if (oldest !== undefined) this.windows.delete(oldest);
		}
		return { current: window.count, ttl: window.resetAt - now };
	}
}

// INCRBY and set the window on the first hit, in one round trip. A key found without an expiry
// (written by something else) gets one, so a counter can never stick forever. One request's
// count is an increment of 1; a slice of a principal's budget (see rate-budget.ts) is larger.
const INCR_SCRIPT = `
local current = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if current == tonumber(ARGV[2]) or ttl < 0 then
	redis.call('PEXPIRE', KEYS[1], ARGV[1])
	ttl = tonumber(ARGV[1])
end
return {current, ttl}
`;
// Sent by digest (EVALSHA): the script's text only travels when Redis lacks it.
const INCR_SCRIPT_SHA = createHash("sha1").update(INCR_SCRIPT).digest("hex");

async function incrWindow(redis: Redis, key: string, windowMs: number, by: number): Promise<Reservation> {
	let reply: unknown;
	try {
		reply = await redis.evalsha(INCR_SCRIPT_SHA, 1, key, windowMs, by);
	} catch (error) {
		// A restarted or flushed Redis has forgotten the script: send it whole once.
		if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
		reply = await redis.eval(INCR_SCRIPT, 1, key, windowMs, by);
	}
	if (!Array.isArray(reply) || reply.length !== 2) throw new Error("unexpected rate-limit reply from Redis");
	return { reserved: Number(reply[0]), ttl: Number(reply[1]) };
}

export type CountingMode = "redis" | "local";

/**
 * Counts in Redis, so every replica enforces one budget; when Redis is unreachable, slow or
 * refusing, counts in this process instead, with the same budgets, until Redis answers again.
 * The plugin's own `skipOnError` would stop limiting altogether during an outage, and with a
 * client that queues commands it never even fires: requests wait for Redis to come back.
 *
 * The principal budgets the plugin asks for (`incr`) are spent a slice at a time (rate-budget.ts:
 * never more than the limit across replicas, at most (replicas - 1) x limit / 20 refused early);
 * the address budgets (`count`) guard the token route and failed authentications, are small and
 * cold, and stay exact with one round trip a request.
 */
export class FallbackStore implements FastifyRateLimitStore {
	private skipRedisUntil = 0;
	private mode: CountingMode = "redis";
	private readonly budgets: SlicedBudgets;

	constructor(
		private readonly redis: Redis,
		private readonly namespace: string,
		private readonly local: LocalWindows,
		private readonly retryRedisAfterMs: number,
		private readonly onModeChange: (mode: CountingMode, error?: unknown) => void,
	) {
		// A fresh connection has just answered its ready check: no reason to wait out the pause.
		redis.on("ready", () => {
			this.skipRedisUntil = 0;
		});
		this.budgets = new SlicedBudgets((key, units, windowMs) => this.reserve(key, units, windowMs), local.maxKeys);
	}

	incr(key: string, callback: (error: Error | null, result?: Count) => void, timeWindow: number, max: number): void {
		this.take(key, timeWindow, max).then(
			(result) => callback(null, result),
			(error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
		);
	}

	/** For per-route limits (route `config.rateLimit`), which no route sets: they would share these counters. */
	child(): FastifyRateLimitStore {
		return this;
	}

	/** One request against a budget of `max` a window, spent from this process's slice of it. */
	async take(key: string, windowMs: number, max: number): Promise<Count> {
		if (this.redisUsable()) {
			try {
				return await this.budgets.take(key, max, windowMs);
			} catch (error) {
				this.redisFailed(error);
			}
		} else {
			this.switchTo("local");
		}
		return this.local.incr(key, windowMs);
	}

	/** One request against a budget, counted in Redis by itself. */
	async count(key: string, windowMs: number): Promise<Count> {
		if (this.redisUsable()) {
			try {
				const { reserved, ttl } = await this.reserve(key, 1, windowMs);
				return { current: reserved, ttl };
			} catch (error) {
				this.redisFailed(error);
			}
		} else {
			this.switchTo("local");
		}
		return this.local.incr(key, windowMs);
	}

	/** Not connected means the command would only be refused: go local without a round trip. */
	private redisUsable(): boolean {
		return this.redis.status === "ready" && Date.now() >= this.skipRedisUntil;
	}

	private async reserve(key: string, units: number, windowMs: number): Promise<Reservation> {
		const reservation = await incrWindow(this.redis, `${this.namespace}${key}`, windowMs, units);
		this.switchTo("redis");
		return reservation;
	}

	private redisFailed(error: unknown): void {
		// A timeout may be a dead peer not yet noticed: do not make every request pay it.
		this.skipRedisUntil = Date.now() + this.retryRedisAfterMs;
		this.switchTo("local", error);
	}

	private switchTo(mode: CountingMode, error?: unknown): void {
		if (this.mode === mode) return;
		this.mode = mode;
		this.onModeChange(mode, error);
	}
}

function logModeChange(log: FastifyBaseLogger) {
	return (mode: CountingMode, error?: unknown) => {
		if (mode === "local") {
			log.warn({ err: error }, "Redis cannot count requests; rate limits are counted in this process until it answers");
		} else {
			log.info("Redis answers again; rate limits are counted in Redis");
		}
	};
}

/** Budgets keyed on the client address rather than on a principal, checked by the kit's own hooks. */
export interface AddressLimits {
	/**
	 * After a bearer authentication failed: counts it against the address and answers what to
	 * throw instead of the 401 once the address is over its budget.
	 */
	failedAuthentication(request: FastifyRequest): Promise<ProblemError | undefined>;
}

const WINDOW_MS = 60_000;

function rateLimited(what: string, max: number, ttlMs: number): ProblemError {
	const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
	return new ProblemError("rate_limited", `${what}: at most ${max} per minute; retry in ${seconds} s.`, {
		headers: { "retry-after": String(seconds) },
	});
}

/**
 * Fixed-window limits counted in Redis (in-process while Redis is unreachable); the principal's
 * budget is reserved from Redis a slice at a time and spent here. The principal's budget is
 * checked in preValidation: after authentication (the principal is the key) and before
 * an Idempotency-Key is claimed, so a refused request never occupies a key. The token route has
 * two budgets of its own, see `limitTokenRequests`.
 */
export async function registerRateLimit(app: FastifyInstance, settings: RateLimitSettings): Promise<AddressLimits> {
	const { redis, prefix } = settings;
	const local = new LocalWindows(settings.localKeys ?? 10_000);
	const retryRedisAfterMs = settings.retryRedisAfterMs ?? 1_000;
	// One store for the plugin and the kit's own budgets: one fallback state, one log line per change.
	const store = new FallbackStore(redis, `${prefix}:ratelimit:`, local, retryRedisAfterMs, logModeChange(app.log));
	await app.register(rateLimit, {
		global: true,
		hook: "preValidation",
		timeWindow: WINDOW_MS,
		// The plugin constructs its store from a class it is given, with its own arguments only.
		store: class implements FastifyRateLimitStore {
			incr(
				key: string,
				callback: (error: Error | null, result?: Count) => void,
				timeWindow: number,
				max: number,
			): void {
				store.incr(key, callback, timeWindow, max);
			}
			child(): FastifyRateLimitStore {
				return this;
			}
		},
		// The store never fails (it falls back); should it ever, serve rather than refuse.
		skipOnError: true,
		max: settings.perMinute,
		// Public routes are free, and the token route is counted by its own hook below.
		allowList: (request) => {
			const access = request.routeOptions.config?.access;
			return access !== undefined && "public" in access;
		},
		keyGenerator: (request) => (request.principal ? `principal:${request.principal.id}` : `ip:${request.ip}`),
		errorResponseBuilder: (_request, context) =>
			new ProblemError(
				"rate_limited",
				`Rate limit of ${context.max} requests per minute reached; retry after ${context.after}.`,
			),
	});
	// On the token route alone: a global hook would be a call on every request.
	app.addHook("onRoute", (route) => {
		if (route.url === TOKEN_ROUTE) {
			appendRouteHook(route, "preValidation", async (request: FastifyRequest) => {
				await limitTokenRequests(store, settings, request);
			});
		}
	});
	return {
		async failedAuthentication(request) {
			const count = await store.count(`auth-failures:${request.ip}`, WINDOW_MS);
			if (count.current <= settings.authFailuresPerMinute) return undefined;
			return rateLimited("Failed authentications from this address", settings.authFailuresPerMinute, count.ttl);
		},
	};
}

/**
 * Every token request costs a scrypt hash, an unknown client id included (so timing does not
 * tell ids apart). The address budget comes first and is independent of the client id, so
 * rotating ids buys no fresh budget; the client id's budget stops one credential being guessed
 * at from many addresses. A request refused for its address is not counted against the client.
 */
async function limitTokenRequests(store: FallbackStore, settings: RateLimitSettings, request: FastifyRequest) {
	const byAddress = await store.count(`token-address:${request.ip}`, WINDOW_MS);
	if (byAddress.current > settings.tokenPerAddressPerMinute) {
		throw rateLimited("Token requests from this address", settings.tokenPerAddressPerMinute, byAddress.ttl);
	}
	const clientId = tokenRequestClientId(request);
	if (clientId === undefined) return;
	const byClient = await store.count(`token-client:${clientId.slice(0, 255)}`, WINDOW_MS);
	if (byClient.current > settings.tokenPerMinute) {
		throw rateLimited("Token requests for this client id", settings.tokenPerMinute, byClient.ttl);
	}
}
