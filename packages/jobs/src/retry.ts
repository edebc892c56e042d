/**
 * How long a saga step keeps trying through transient faults. The data plane has blips (a host
 * agent restarting, a storage controller failing over) that last seconds to a few minutes; rolling
 * a create back for one of those throws away a tenant's request for nothing, while a permanent
 * refusal must still fail at once. So every step gets a budget of tries, with a capped exponential
 * delay between them and jitter so that many operations hit by the same blip do not come back in
 * lockstep.
 */
export interface RetryPolicy {
	/** Tries of one step, the first included, before the operation gives up and compensates. */
	attempts: number;
	/** Delay before the second try; doubled for each further try. */
	baseDelayMs: number;
	/** Cap on any one delay. */
	maxDelayMs: number;
}

/** About 2.5 to 5 minutes of tries: 1, 2, 4, 8, 16 s, then 30 s at a time, each jittered. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 15, baseDelayMs: 1_000, maxDelayMs: 30_000 };

export function assertRetryPolicy(policy: RetryPolicy): RetryPolicy {
	if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new Error("retry attempts must be >= 1");
	if (!(policy.baseDelayMs >= 0)) throw new Error("retry base delay must be >= 0");
	if (!(policy.maxDelayMs >= policy.baseDelayMs)) throw new Error("retry max delay must be >= the base delay");
	return policy;
}

/**
 * The wait after the `failures`-th failed try (1-based): capped exponential with "equal jitter",
 * between half and all of the capped value, so a retry never comes back immediately and never
 * waits longer than the cap.
 */
export function retryDelayMs(policy: RetryPolicy, failures: number, random: () => number = Math.random): number {
	const exponent = Math.min(Math.max(failures - 1, 0), 30);
	const capped = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
	return Math.round(capped / 2 + (capped / 2) * random());
}

/** The longest a step can spend retrying under a policy (all delays at their maximum). */
export function retryBudgetMs(policy: RetryPolicy): number {
	let total = 0;
	for (let failures = 1; failures < policy.attempts; failures++) {
		total += Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures - 1, 30));
	}
	return total;
}

/**
 * Thrown by the saga runner to have the job delivered again after `delayMs`. The worker's backoff
 * strategy reads the delay from it, so the runner, which knows the step and its failures so far,
 * decides the wait rather than BullMQ's count of deliveries.
 */
export class RetryStepError extends Error {
	readonly delayMs: number;

	constructor(message: string, delayMs: number, cause: unknown) {
		super(message, { cause });
		this.name = "RetryStepError";
		this.delayMs = delayMs;
	}
}

/**
 * A transient fault with something the API may say about it (e.g. `unavailable`: the data plane
 * did not answer). Shown as the operation's `retry.last_error` while the step waits; any other
 * transient error is shown as `internal`, with no detail.
 */
export class TransientJobError extends Error {
	readonly code: string;
	readonly detail: string | undefined;

	constructor(code: string, detail?: string, options?: { cause?: unknown }) {
		super(detail ?? code, options);
		this.name = "TransientJobError";
		this.code = code;
		this.detail = detail;
	}
}

/** The backoff BullMQ uses for saga jobs: the delay the failed run asked for. */
export const REQUESTED_BACKOFF = "requested";

/**
 * The worker's custom backoff strategy: the delay a `RetryStepError` carries, else (a run that
 * failed before reaching a step, e.g. the database was down) a capped, jittered exponential one.
 */
export function requestedBackoff(attemptsMade: number, _type?: string, error?: Error): number {
	if (error instanceof RetryStepError) return error.delayMs;
	return retryDelayMs(DEFAULT_RETRY_POLICY, attemptsMade);
}
