/**
 * RFC 9457 problem details with the stable `code`s of the v1 contract. Every error that leaves
 * the API is one of these; anything else is logged and answered as a bare 500 `internal`.
 */
export type ProblemCode =
	| "validation_failed"
	| "unauthenticated"
	| "forbidden"
	| "not_found"
	| "conflict"
	| "invalid_state"
	| "idempotency_key_in_use"
	| "idempotency_key_reused"
	| "quota_exceeded"
	| "no_capacity"
	| "rate_limited"
	| "payload_too_large"
	| "unsupported_media_type"
	| "method_not_allowed"
	| "request_timeout"
	| "headers_too_large"
	| "unavailable"
	| "internal";

const titles: Record<ProblemCode, [number, string]> = {
	validation_failed: [400, "Request validation failed"],
	unauthenticated: [401, "Authentication required"],
	forbidden: [403, "Forbidden"],
	not_found: [404, "Not found"],
	method_not_allowed: [405, "Method not allowed"],
	request_timeout: [408, "Request timeout"],
	conflict: [409, "Conflict"],
	invalid_state: [409, "Invalid state for this action"],
	idempotency_key_in_use: [409, "Idempotency key in use"],
	payload_too_large: [413, "Payload too large"],
	unsupported_media_type: [415, "Unsupported media type"],
	idempotency_key_reused: [422, "Idempotency key reused with a different request"],
	headers_too_large: [431, "Request line or headers too large"],
	quota_exceeded: [422, "Quota exceeded"],
	rate_limited: [429, "Too many requests"],
	internal: [500, "Internal error"],
	no_capacity: [503, "No capacity"],
	unavailable: [503, "Service unavailable"],
};

/** Every code, in the order of their statuses: the enum the spec publishes. */
export const PROBLEM_CODES = Object.entries(titles)
	.sort(([, a], [, b]) => a[0] - b[0])
	.map(([code]) => code as ProblemCode);

export interface ProblemFieldError {
	/** JSON pointer into the request, or the quota resource name. */
	field?: string;
	message?: string;
	resource?: string;
	limit?: number;
	used?: number;
	requested?: number;
	[extra: string]: unknown;
}

export interface ProblemBody {
	type: string;
	title: string;
	status: number;
	detail?: string;
	code: ProblemCode;
	request_id: string;
	errors?: ProblemFieldError[];
}

export class ProblemError extends Error {
	readonly code: ProblemCode;
	readonly status: number;
	readonly title: string;
	readonly errors?: ProblemFieldError[];
	readonly headers?: Record<string, string>;

	constructor(
		code: ProblemCode,
		detail?: string,
		extra: { errors?: ProblemFieldError[]; headers?: Record<string, string>; status?: number } = {},
	) {
		super(detail ?? titles[code][1]);
		const [status, title] = titles[code];
		this.code = code;
		this.status = extra.status ?? status;
		this.title = title;
		this.errors = extra.errors;
		this.headers = extra.headers;
	}

	toBody(requestId: string): ProblemBody {
		return {
			type: `https://igoudar.dev/problems/${this.code.replaceAll("_", "-")}`,
			title: this.title,
			status: this.status,
			// A 500 says nothing about its cause: that is in the log, under the request id.
			...(this.code === "internal" ? {} : { detail: this.message }),
			code: this.code,
			request_id: requestId,
			...(this.errors ? { errors: this.errors } : {}),
		};
	}
}

export const problems = {
	validation: (detail: string, errors?: ProblemFieldError[]) =>
		new ProblemError("validation_failed", detail, { errors }),
	unauthenticated: (detail = "A valid bearer token is required.") => new ProblemError("unauthenticated", detail),
	forbidden: (detail = "This principal may not perform this action.") => new ProblemError("forbidden", detail),
	notFound: (what = "resource") => new ProblemError("not_found", `The ${what} does not exist.`),
	conflict: (detail: string) => new ProblemError("conflict", detail),
	invalidState: (detail: string) => new ProblemError("invalid_state", detail),
	quotaExceeded: (errors: ProblemFieldError[]) =>
		new ProblemError(
			"quota_exceeded",
			`The request exceeds the quota for ${errors.map((e) => e.resource).join(", ")}.`,
			{ errors },
		),
	noCapacity: (detail = "No host has room for this request.") => new ProblemError("no_capacity", detail),
	internal: () => new ProblemError("internal", "An internal error occurred."),
};

export function problemTitle(code: ProblemCode): string {
	return titles[code][1];
}

export function statusOf(code: ProblemCode): number {
	return titles[code][0];
}

/** Every code the API answers, by status: the list the spec publishes. */
export function problemCodeList(): string {
	const codes = Object.entries(titles).sort(([, a], [, b]) => a[0] - b[0]);
	return codes.map(([code, [status]]) => `\`${code}\` (${status})`).join(", ");
}
