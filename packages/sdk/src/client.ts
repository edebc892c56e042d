import { randomUUID } from "node:crypto";
import createClient, { type Client } from "openapi-fetch";
import type { paths } from "./generated/schema";
import { TokenSource } from "./tokens";

export interface IgoudarClientOptions {
	baseUrl: string;
	/** Service-account credentials: tokens are fetched and refreshed automatically. */
	clientId?: string;
	clientSecret?: string;
	/** A fixed bearer token instead of credentials. */
	token?: string;
	/**
	 * Give every POST an Idempotency-Key and retry it, with the same key, on network errors,
	 * 502/504, and 409 `idempotency_key_in_use`: a retried create never creates twice.
	 */
	retries?: number;
	fetch?: typeof fetch;
}

export type IgoudarClient = Client<paths> & {
	/** Polls an operation until it succeeds or fails (or the timeout passes). */
	waitForOperation(
		tenantId: string,
		operationId: string,
		options?: { timeoutMs?: number; intervalMs?: number },
	): Promise<OperationResult>;
};

/** An operation as the API returns it. */
export type OperationResult =
	paths["/v1/tenants/{tenant_id}/operations/{operation_id}"]["get"]["responses"][200]["content"]["application/json"];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function problemCode(response: Response): Promise<string | undefined> {
	if (!response.headers.get("content-type")?.includes("problem+json")) return undefined;
	try {
		return ((await response.clone().json()) as { code?: string }).code;
	} catch {
		return undefined;
	}
}

/** The fetch that authenticates, keys and retries: everything the typed client sends goes through it. */
function authenticatedFetch(options: IgoudarClientOptions, base: typeof fetch): typeof fetch {
	const tokens =
		options.clientId && options.clientSecret
			? new TokenSource(options.baseUrl, { clientId: options.clientId, clientSecret: options.clientSecret }, base)
			: undefined;
	const retries = options.retries ?? 3;

	return async (input, init) => {
		const original = new Request(input, init);
		if (original.method === "POST" && !original.headers.has("idempotency-key")) {
			original.headers.set("idempotency-key", randomUUID());
		}
		const body = original.body ? await original.arrayBuffer() : undefined;
		let refreshed = false;
		for (let attempt = 0; ; attempt++) {
			const request = new Request(original, { body });
			const token = tokens ? await tokens.get() : options.token;
			if (token) request.headers.set("authorization", `Bearer ${token}`);
			let response: Response;
			try {
				response = await base(request);
			} catch (error) {
				if (attempt >= retries || original.method !== "POST") throw error;
				await sleep(100 * 2 ** attempt);
				continue;
			}
			if (response.status === 401 && tokens && !refreshed) {
				// A token revoked or rotated early: fetch a new one once, then give up.
				tokens.invalidate();
				refreshed = true;
				continue;
			}
			const retriable =
				response.status === 502 ||
				response.status === 504 ||
				(response.status === 409 && (await problemCode(response)) === "idempotency_key_in_use");
			if (!retriable || attempt >= retries || original.method !== "POST") return response;
			await sleep(100 * 2 ** attempt);
		}
	};
}

export function createIgoudarClient(options: IgoudarClientOptions): IgoudarClient {
	const client = createClient<paths>({
		baseUrl: options.baseUrl,
		fetch: authenticatedFetch(options, options.fetch ?? globalThis.fetch),
	});
	const waitForOperation: IgoudarClient["waitForOperation"] = async (tenantId, operationId, wait = {}) => {
		const deadline = Date.now() + (wait.timeoutMs ?? 120_000);
		for (;;) {
			const { data, error } = await client.GET("/v1/tenants/{tenant_id}/operations/{operation_id}", {
				params: { path: { tenant_id: tenantId, operation_id: operationId } },
			});
			if (error || !data) throw new Error(`operation ${operationId}: ${JSON.stringify(error)}`);
			const op: OperationResult = data;
			if (op.status === "succeeded" || op.status === "failed") return op;
			if (Date.now() > deadline) throw new Error(`operation ${operationId} still ${op.status} after the timeout`);
			await sleep(wait.intervalMs ?? 200);
		}
	};
	return Object.assign(client, { waitForOperation });
}
