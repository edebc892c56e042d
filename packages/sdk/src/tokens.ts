import { IgoudarError } from "./errors.js";
import { type RetryOptions, withRetries } from "./retry.js";

/** Fetches and caches client-credentials tokens, refreshing shortly before they expire. */
export class TokenSource {
	private current?: { token: string; expiresAt: number };
	private pending?: Promise<string>;

	constructor(
		private readonly baseUrl: string,
		private readonly credentials: { clientId: string; clientSecret: string },
		private readonly fetchImpl: typeof fetch,
		private readonly retry?: RetryOptions,
	) {}

	/** A token valid for at least 30 more seconds. */
	async get(): Promise<string> {
		if (this.current && this.current.expiresAt - Date.now() > 30_000) return this.current.token;
		this.pending ??= this.fetchToken().finally(() => {
			this.pending = undefined;
		});
		return this.pending;
	}

	invalidate(): void {
		this.current = undefined;
	}

	private async fetchToken(): Promise<string> {
		// Credentials in the body (client_secret_post). Asking again is harmless (a second token
		// is as good as the first), so the token request rides out 429s and outages like a GET.
		const response = await withRetries(
			() =>
				this.fetchImpl(new URL("/v1/auth/token", this.baseUrl), {
					method: "POST",
					headers: { "content-type": "application/json", accept: "application/json" },
					body: JSON.stringify({
						grant_type: "client_credentials",
						client_id: this.credentials.clientId,
						client_secret: this.credentials.clientSecret,
					}),
				}),
			{ retriable: true, policy: this.retry },
		);
		if (!response.ok) {
			// Problem or RFC 6749 error body: either way the status and request id reach the caller.
			throw IgoudarError.fromResponse(response, await response.json().catch(() => undefined));
		}
		const body = (await response.json()) as { access_token: string; expires_in: number };
		this.current = { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
		return body.access_token;
	}
}
