import type { FastifyInstance, FastifyRequest } from "fastify";
import { ProblemError } from "./errors";

/**
 * Admission control: at most `limit` requests at work in this process at once; the next one is
 * refused at once with 503 `unavailable` and Retry-After, before it costs anything.
 *
 * Why: past the machine's rate, a request that is let in only waits, for the event loop and then
 * for a database connection (each checkout may wait up to the pool's timeout), so under a burst
 * the creates that were accepted took 10-20 s to answer, the rest timed out after doing part of
 * their work, and the work they carried reached the workers that late. With a bound, the queue a
 * request can meet is at most `limit` deep, so an accepted request answers within about
 * `limit / rate` seconds and a refused one in microseconds, telling its client when to come back
 * (as a public cloud's API answers 503 SlowDown). The probes and /metrics are never refused: an
 * orchestrator must not take a busy process for a dead one.
 */

const NEVER_REFUSED = new Set(["/healthz", "/readyz", "/metrics"]);

/** Seconds a refused client is told to wait: a burst at this scale drains in about that. */
export const ADMISSION_RETRY_AFTER_SECONDS = 1;

export interface Admission {
	/** Counts the request in, or throws the 503 when the process is at capacity. */
	admit(request: FastifyRequest): void;
}

/**
 * Counts requests out as they end; the caller's first onRequest hook calls `admit` (one hook
 * fewer on every request than a hook of its own).
 */
export function installAdmission(app: FastifyInstance, limit: number): Admission {
	const admitted = new WeakSet<FastifyRequest>();
	let inFlight = 0;
	// Counted out once, whichever way the request ends: answered, or its client gone first.
	const release = async (request: FastifyRequest) => {
		if (admitted.delete(request)) inFlight -= 1;
	};
	app.addHook("onResponse", release);
	app.addHook("onRequestAbort", release);
	return {
		admit(request) {
			if (NEVER_REFUSED.has(request.routeOptions.url ?? "")) return;
			if (inFlight >= limit) {
				throw new ProblemError("unavailable", "The service is at capacity; retry shortly.", {
					headers: { "retry-after": String(ADMISSION_RETRY_AFTER_SECONDS) },
				});
			}
			inFlight += 1;
			admitted.add(request);
		},
	};
}
