import type { components } from "./generated/schema.js";

/** The problem+json body every API error carries (RFC 9457 plus `code` and `request_id`). */
export type Problem = components["schemas"]["Problem"];

/** One entry of a problem's `errors[]`: a field that failed validation, or a quota that ran out. */
export type ProblemDetail = NonNullable<Problem["errors"]>[number];

/**
 * What every resource helper throws: an API problem, a network failure that outlived its
 * retries (`status` 0, `code` "network_error"), or a failed operation (its problem).
 */
export class IgoudarError extends Error {
	override readonly name: string = "IgoudarError";
	readonly status: number;
	readonly code: string;
	readonly title: string;
	readonly detail?: string;
	/** The server's `x-request-id`: quote it when reporting a problem. */
	readonly requestId?: string;
	readonly errors: ProblemDetail[];
	/** Seconds the server asked us to wait (429, 503), when it said. */
	readonly retryAfter?: number;
	/** The problem body as received, for fields this class does not name. */
	readonly problem?: Partial<Problem>;

	constructor(init: {
		status: number;
		code: string;
		title: string;
		detail?: string;
		requestId?: string;
		errors?: ProblemDetail[];
		retryAfter?: number;
		problem?: Partial<Problem>;
		cause?: unknown;
	}) {
		super(init.detail ? `${init.title}: ${init.detail}` : init.title, { cause: init.cause });
		this.status = init.status;
		this.code = init.code;
		this.title = init.title;
		this.detail = init.detail;
		this.requestId = init.requestId;
		this.errors = init.errors ?? [];
		this.retryAfter = init.retryAfter;
		this.problem = init.problem;
	}

	/** Builds the error from a response and the body openapi-fetch already parsed (if any). */
	static fromResponse(response: Response, body: unknown): IgoudarError {
		const problem = isRecord(body) ? (body as Partial<Problem>) : undefined;
		const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
		return new IgoudarError({
			status: response.status,
			// The token route may answer in the OAuth form (RFC 6749 5.2: `error`) instead of a problem.
			code: typeof problem?.code === "string" ? problem.code : (oauthError(body) ?? `http_${response.status}`),
			title: typeof problem?.title === "string" ? problem.title : response.statusText || `HTTP ${response.status}`,
			detail: typeof problem?.detail === "string" ? problem.detail : undefined,
			requestId:
				(typeof problem?.request_id === "string" ? problem.request_id : undefined) ??
				response.headers.get("x-request-id") ??
				undefined,
			errors: Array.isArray(problem?.errors) ? problem.errors : [],
			retryAfter: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
			problem,
		});
	}

	/** A failure before any answer: the network, DNS, a reset connection. */
	static network(cause: unknown): IgoudarError {
		const detail = cause instanceof Error ? cause.message : String(cause);
		return new IgoudarError({ status: 0, code: "network_error", title: "Network error", detail, cause });
	}
}

/** Thrown by `waitForOperation` when the operation has not ended within `timeoutMs`. */
export class IgoudarTimeoutError extends IgoudarError {
	override readonly name: string = "IgoudarTimeoutError";
	constructor(
		detail: string,
		/** The operation as last seen, to resume waiting or report its progress. */
		readonly lastSeen?: unknown,
	) {
		super({ status: 0, code: "timeout", title: "Timed out", detail });
	}
}

function oauthError(body: unknown): string | undefined {
	return isRecord(body) && typeof body.error === "string" ? body.error : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
	return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `Retry-After` in milliseconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
	if (value === null || value.trim() === "") return undefined;
	const trimmed = value.trim();
	if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
	const date = Date.parse(trimmed);
	if (Number.isNaN(date)) return undefined;
	return Math.max(0, date - now);
}
