import { IgoudarError, IgoudarTimeoutError } from "@igoudar/sdk";

/** What scripts can rely on: the only exit codes the command uses. */
export const EXIT = { ok: 0, api: 1, usage: 2, timeout: 3 } as const;

/** A mistake in how the command was called (not the API's answer): exit code 2. */
export class UsageError extends Error {
	override readonly name = "UsageError";
}

export function exitCodeOf(error: unknown): number {
	if (error instanceof IgoudarTimeoutError) return EXIT.timeout;
	if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return EXIT.timeout;
	if (error instanceof UsageError) return EXIT.usage;
	if (error instanceof IgoudarError) return EXIT.api;
	return EXIT.api;
}

/**
 * The lines printed on stderr for a failure: the problem's title and detail, the field or quota
 * details, and the request id to quote when reporting it.
 */
export function describeError(error: unknown): string {
	if (error instanceof IgoudarTimeoutError) return `error: ${error.detail ?? error.message} (timed out)`;
	if (error instanceof IgoudarError) {
		const status = error.status === 0 ? "" : `${error.status} `;
		const lines = [`error: ${error.title}${error.detail ? `: ${error.detail}` : ""} (${status}${error.code})`];
		for (const detail of error.errors) lines.push(`  - ${describeDetail(detail)}`);
		if (error.requestId) lines.push(`request id: ${error.requestId}`);
		return lines.join("\n");
	}
	if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
		return "error: timed out (raise --timeout to wait longer)";
	}
	return `error: ${error instanceof Error ? error.message : String(error)}`;
}

function describeDetail(detail: Record<string, unknown>): string {
	const where = [detail.field, detail.resource, detail.pointer, detail.path].find((value) => typeof value === "string");
	const message = typeof detail.message === "string" ? detail.message : undefined;
	const rest = Object.entries(detail)
		.filter(([key]) => !["field", "resource", "pointer", "path", "message"].includes(key))
		.map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
	return [where, message, rest.length > 0 ? `(${rest.join(", ")})` : undefined].filter(Boolean).join(": ");
}
