import { isRetriable, type RetryOptions, withRetries } from "./retry.js";
import { TokenSource } from "./tokens.js";

export interface TransportOptions {
	baseUrl: string;
	clientId?: string;
	clientSecret?: string;
	token?: string;
	retry?: RetryOptions;
}

/**
 * The fetch that authenticates, keys and retries: everything the typed client sends goes
 * through it. Every POST gets an Idempotency-Key (unless the caller set one) before the first
 * try, so each retry carries the same key and a retried create never creates twice.
 */
export function authenticatedFetch(options: TransportOptions, base: typeof fetch): typeof fetch {
	const tokens =
		options.clientId && options.clientSecret
			? new TokenSource(
					options.baseUrl,
					{ clientId: options.clientId, clientSecret: options.clientSecret },
					base,
					options.retry,
				)
			: undefined;

	return async (input, init) => {
		const original = new Request(input, init);
		if (original.method === "POST" && !original.headers.has("idempotency-key")) {
			original.headers.set("idempotency-key", globalThis.crypto.randomUUID());
		}
		// Read once: a Request body is a stream and each try needs its own copy.
		const body = original.body ? await original.arrayBuffer() : undefined;
		let refreshed = false;
		const send = async (): Promise<Response> => {
			for (;;) {
				const request = new Request(original, { body });
				const token = tokens ? await tokens.get() : options.token;
				if (token) request.headers.set("authorization", `Bearer ${token}`);
				const response = await base(request);
				if (response.status !== 401 || !tokens || refreshed) return response;
				// A token revoked or rotated early: fetch a new one once, then give up.
				tokens.invalidate();
				refreshed = true;
				await response.body?.cancel().catch(() => undefined);
			}
		};
		return withRetries(send, { retriable: isRetriable(original), signal: original.signal, policy: options.retry });
	};
}
