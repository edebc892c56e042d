import { isDatabaseUnavailable, postgresError } from "@igoudar/db";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ProblemError, type ProblemFieldError, problems } from "./errors";

interface ValidationIssue {
	instancePath?: string;
	message?: string;
	keyword?: string;
	params?: Record<string, unknown>;
}

/** Turns validator output into `errors[]` entries that name the offending field. */
function fieldErrors(context: string | undefined, issues: ValidationIssue[]): ProblemFieldError[] {
	const out: ProblemFieldError[] = [];
	for (const issue of issues) {
		// TypeBox reports a rejected extra property twice (as a false sub-schema and as the
		// additionalProperties failure); the second names it better.
		if (issue.message === "schema is false") continue;
		const base = `${context ?? "body"}${issue.instancePath ?? ""}`;
		const extra = issue.params?.additionalProperties;
		if (issue.keyword === "additionalProperties" && extra !== undefined) {
			const names = Array.isArray(extra) ? extra : [extra];
			for (const name of names) {
				out.push({ field: `${base}/${String(name)}`, message: "is not a known or writable field" });
			}
			continue;
		}
		const required = issue.params?.requiredProperties;
		if (issue.keyword === "required" && Array.isArray(required)) {
			for (const name of required) out.push({ field: `${base}/${String(name)}`, message: "is required" });
			continue;
		}
		out.push({ field: base, message: issue.message ?? "is invalid" });
	}
	return out;
}

/**
 * Postgres refuses NUL in text (22021) and in jsonb (22P05). Any string field could carry one,
 * so it is the client's bad input wherever it is caught, never a 500.
 */
function isUnstorableText(error: unknown): boolean {
	const code = postgresError(error)?.code;
	return code === "22021" || code === "22P05";
}

/** The problem an error answers as; the OAuth token route reshapes it, so it must map alike. */
export function toProblem(
	error: FastifyError & { validation?: ValidationIssue[]; validationContext?: string },
): ProblemError {
	if (error instanceof ProblemError) return error;
	if (isDatabaseUnavailable(error)) {
		// Nothing was committed, and the database is most likely back in seconds.
		return new ProblemError("unavailable", "A dependency of the service is unavailable; retry shortly.", {
			headers: { "retry-after": "2" },
		});
	}
	if (isUnstorableText(error)) {
		return problems.validation("The request contains characters that cannot be stored (such as NUL, \\u0000).");
	}
	if (error.validation) {
		return problems.validation(
			"The request does not match the schema.",
			fieldErrors(error.validationContext, error.validation),
		);
	}
	switch (error.code) {
		case "FST_ERR_CTP_EMPTY_JSON_BODY":
		case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
			return problems.validation("The request body is empty or malformed.");
		case "FST_ERR_CTP_BODY_TOO_LARGE":
			return new ProblemError("payload_too_large", "The request body is too large.");
		case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
			return new ProblemError("unsupported_media_type", "Send application/json.");
		case "FST_ERR_CTP_INVALID_JSON_BODY":
			return problems.validation("The request body is not valid JSON.");
	}
	if (error instanceof SyntaxError) return problems.validation("The request body is not valid JSON.");
	if (error.statusCode === 415) return new ProblemError("unsupported_media_type", "Send application/json.");
	if (error.statusCode === 413) return new ProblemError("payload_too_large", "The request body is too large.");
	if (error.statusCode === 404) return problems.notFound();
	if (error.statusCode === 405) return new ProblemError("method_not_allowed");
	// Any other client error Fastify raises is the caller's fault, so it must not read as our 500.
	if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
		return problems.validation("The request is malformed.");
	}
	return problems.internal();
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: ProblemError): FastifyReply {
	if (problem.headers) reply.headers(problem.headers);
	return reply.code(problem.status).type("application/problem+json").send(problem.toBody(request.id));
}

/**
 * Errors Fastify raises before routing (a malformed URL, an over-long path parameter) bypass the
 * error handler and the hooks; this gives them the same problem shape and request id header.
 */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
	const problem =
		error.code === "FST_ERR_BAD_URL" || error.code === "FST_ERR_MAX_PARAM_LENGTH"
			? problems.validation("The request URL is malformed.")
			: problems.internal();
	if (problem.status >= 500) request.log.error({ err: error }, "request failed before routing");
	reply.header("x-request-id", request.id);
	sendProblem(request, reply, problem);
}

function notFoundRoute(request: FastifyRequest): ProblemError {
	return new ProblemError("not_found", `No route for ${request.method} ${request.url}.`);
}

export function installErrorHandling(app: FastifyInstance): void {
	app.setErrorHandler((error: FastifyError, request, reply) => {
		let problem = toProblem(error);
		// An unknown route is 404 whatever came with it: its body is parsed (and can fail) before
		// the not-found handler runs, but a body can never make a missing route exist.
		if (request.is404 && problem.status < 500) problem = notFoundRoute(request);
		// An answer like no_capacity (503) is expected behaviour; only `internal` is a fault.
		if (problem.code === "internal") {
			request.log.error({ err: error }, "request failed");
		} else if (problem.code === "unavailable") {
			request.log.warn({ err: error }, "request refused: a dependency is unavailable");
		} else {
			request.log.info({ code: problem.code, detail: problem.message }, "request refused");
		}
		return sendProblem(request, reply, problem);
	});
	app.setNotFoundHandler((request, reply) => sendProblem(request, reply, notFoundRoute(request)));
}
