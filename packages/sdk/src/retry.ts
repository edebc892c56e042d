import { IgoudarError, parseRetryAfter } from "./errors.js";

export interface RetryOptions {
	/** Tries in all, the first included (default 8). 1 turns retries off. */
	maxAttempts?: number;
	/** No retry starts after this long since the first try (default 120 000 ms). */
	maxElapsedMs?: number;
	/** First backoff step, doubled per try up to `maxDelayMs` (defaults 200 and 10 000 ms). */
	baseDelayMs?: number;
	maxDelayMs?: number;
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * A request may be sent again only when the server would do its work once: safe and idempotent
 * methods, and any request carrying an Idempotency-Key (the server replays the first answer).
 */
export function isRetriable(request: Request): boolean {
	return IDEMPOTENT_METHODS.has(request.method) || request.headers.has("idempotency-key");
}

/** Aborts with the signal's reason, so callers see the AbortError they caused. */
export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason);
		const timer = setTimeout(() => {
			signal?.removeEventListener("abort", onAbort);
			resolve();
		}, ms);
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason);
		};
		signal?.addEventListener("abort", onAbort, { once: true });
	});
}

async function problemCode(response: Response): Promise<string | undefined> {
	if (!response.headers.get("content-type")?.includes("json")) return undefined;
	try {
		return ((await response.clone().json()) as { code?: string }).code;
	} catch {
		return undefined;
	}
}

/** 429 and 503 say "later"; 502 and 504 are a proxy losing the upstream; 409 in_use is our own key still running. */
async function isTransient(response: Response): Promise<boolean> {
	if ([429, 502, 503, 504].includes(response.status)) return true;
	return response.status === 409 && (await problemCode(response)) === "idempotency_key_in_use";
}

/**
 * Sends with `send` until an answer is final or the budget runs out, waiting the server's
 * `Retry-After` when it gives one and full-jitter exponential backoff otherwise. A server-given
 * wait still gets a little jitter: a whole storm of clients told "retry in 30 s" must not all
 * come back in the same millisecond. The last answer (or network error) is what the caller gets.
 */
export async function withRetries(
	send: () => Promise<Response>,
	options: { retriable: boolean; signal?: AbortSignal | null; policy?: RetryOptions },
): Promise<Response> {
	const maxAttempts = options.retriable ? Math.max(1, options.policy?.maxAttempts ?? 8) : 1;
	const maxElapsedMs = options.policy?.maxElapsedMs ?? 120_000;
	const baseDelayMs = options.policy?.baseDelayMs ?? 200;
	const maxDelayMs = options.policy?.maxDelayMs ?? 10_000;
	const started = Date.now();
	for (let attempt = 1; ; attempt++) {
		let response: Response | undefined;
		let failure: unknown;
		try {
			response = await send();
		} catch (error) {
			// An abort is the caller's decision, never a fault to retry; an IgoudarError (a refused
			// token request) already had its own retries and is an answer, not a lost connection.
			if (options.signal?.aborted) throw options.signal.reason;
			if (error instanceof IgoudarError) throw error;
			failure = error;
		}
		if (response && !(await isTransient(response))) return response;
		const backoff = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
		const asked = response ? parseRetryAfter(response.headers.get("retry-after")) : undefined;
		const delay = asked === undefined ? backoff : asked + Math.random() * Math.min(1000, baseDelayMs * 2);
		const outOfBudget = attempt >= maxAttempts || Date.now() - started + delay > maxElapsedMs;
		if (outOfBudget) {
			if (response) return response;
			throw failure;
		}
		// The body of an answer we will not hand back is never read: release its connection.
		await response?.body?.cancel().catch(() => undefined);
		await sleep(delay, options.signal);
	}
}
