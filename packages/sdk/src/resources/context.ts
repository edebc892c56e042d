import type { Client } from "openapi-fetch";
import type { paths } from "../generated/schema.js";

/** What every resource group is built on: the typed client, which already authenticates and retries. */
export interface Context {
	client: Client<paths>;
}

/** Options every call takes. */
export interface CallOptions {
	signal?: AbortSignal;
	/** Replaces the SDK's generated Idempotency-Key (POSTs): reuse one to make a create safe across process restarts. */
	idempotencyKey?: string;
}

export function headers(options?: CallOptions): Record<string, string> | undefined {
	return options?.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : undefined;
}
