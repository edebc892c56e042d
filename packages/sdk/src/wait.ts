import type { Client } from "openapi-fetch";
import { IgoudarError, IgoudarTimeoutError, type Problem } from "./errors.js";
import type { paths } from "./generated/schema.js";
import { sleep } from "./retry.js";
import type { Operation } from "./types.js";
import { unwrap } from "./unwrap.js";

export interface WaitOptions {
	/** Give up (IgoudarTimeoutError) after this long (default 300 000 ms). */
	timeoutMs?: number;
	signal?: AbortSignal;
	/** Called with every poll's view of the operation (status, progress, retry). */
	onProgress?: (operation: Operation) => void;
	/** Polling interval: first wait, growth per poll and cap (defaults 250 ms, 1.5, 5 000 ms). */
	pollMs?: { initial?: number; factor?: number; max?: number };
}

/** Added to the options of every method that returns an operation. */
export interface WaitFlag {
	/** Resolve only once the operation succeeded (throwing its problem if it failed). */
	wait?: boolean | WaitOptions;
}

/**
 * Polls an operation until it ends. Succeeded resolves with it; failed throws its problem as an
 * IgoudarError (the request id is the poll's, as the operation's own problem carries none).
 */
export async function waitForOperation(
	client: Client<paths>,
	tenantId: string,
	operationId: string,
	options: WaitOptions = {},
): Promise<Operation> {
	return pollOperation(operationId, options, async (signal) => {
		let requestId: string | undefined;
		const operation = await unwrap(
			client
				.GET("/v1/tenants/{tenant_id}/operations/{operation_id}", {
					params: { path: { tenant_id: tenantId, operation_id: operationId } },
					signal,
				})
				.then((answer) => {
					requestId = answer.response.headers.get("x-request-id") ?? undefined;
					return answer;
				}),
		);
		return { operation, requestId };
	});
}

/**
 * The polling loop behind every wait, over any way of reading the operation (its tenant's
 * operations route, or the resource that carries it, as an invoice run does).
 */
export async function pollOperation(
	operationId: string,
	options: WaitOptions,
	read: (signal: AbortSignal | undefined) => Promise<{ operation: Operation; requestId?: string }>,
): Promise<Operation> {
	const deadline = Date.now() + (options.timeoutMs ?? 300_000);
	let interval = options.pollMs?.initial ?? 250;
	const factor = options.pollMs?.factor ?? 1.5;
	const cap = options.pollMs?.max ?? 5_000;
	for (;;) {
		const { operation: op, requestId } = await read(options.signal);
		options.onProgress?.(op);
		if (op.status === "succeeded") return op;
		if (op.status === "failed") {
			const problem = op.error;
			throw new IgoudarError({
				status: problem?.status ?? 500,
				code: problem?.code ?? "internal",
				title: problem?.title ?? `operation ${op.kind} failed`,
				detail: problem?.detail,
				errors: problem?.errors,
				requestId,
				// The operation's problem may carry a code newer than this SDK's list of them.
				problem: problem ? (problem as Partial<Problem>) : undefined,
			});
		}
		const left = deadline - Date.now();
		if (left <= 0) {
			throw new IgoudarTimeoutError(`operation ${operationId} (${op.kind}) still ${op.status} after the timeout`, op);
		}
		await sleep(Math.min(interval, left), options.signal);
		interval = Math.min(cap, interval * factor);
	}
}

/** For helpers answering `{ operation, ... }`: waits when asked and puts the ended operation in. */
export async function settle<B extends { operation: Operation }>(
	client: Client<paths>,
	tenantId: string,
	body: B,
	flag: WaitFlag | undefined,
): Promise<B> {
	if (!flag?.wait) return body;
	const options = flag.wait === true ? {} : flag.wait;
	return { ...body, operation: await waitForOperation(client, tenantId, body.operation.id, options) };
}
