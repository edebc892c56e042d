import {
	PROBLEM_CODES,
	type ProblemCode,
	ProblemError,
	type ProblemFieldError,
	SCHEMA_NAME,
	toProblem,
} from "@igoudar/kit";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";

/** The error codes of RFC 6749 5.2 this token endpoint answers. */
export type OAuthErrorCode = "invalid_request" | "invalid_client" | "unsupported_grant_type";

/** The challenge a client that tried HTTP Basic gets with its 401 (RFC 6749 5.2, RFC 7617). */
export const BASIC_CHALLENGE = 'Basic realm="igoudar", charset="UTF-8"';

/** A refusal the token route decides itself, carrying the RFC 6749 error it answers with. */
export class TokenRequestError extends ProblemError {
	constructor(
		readonly oauthError: OAuthErrorCode,
		code: ProblemCode,
		detail: string,
		extra: { errors?: ProblemFieldError[] } = {},
	) {
		super(code, detail, extra);
	}
}

export const tokenErrors = {
	invalidRequest: (detail: string, errors?: ProblemFieldError[]) =>
		new TokenRequestError("invalid_request", "validation_failed", detail, { errors }),
	invalidClient: (detail = "Invalid client credentials.") =>
		new TokenRequestError("invalid_client", "unauthenticated", detail),
};

/**
 * The RFC 6749 `error` for a problem. Refusals outside the RFC's list (a rate limit, an outage)
 * keep their stable code as the `error` value: OAuth clients show it as they would any other.
 */
function oauthErrorOf(problem: ProblemError, body: unknown): string {
	if (problem instanceof TokenRequestError) return problem.oauthError;
	switch (problem.code) {
		case "unauthenticated":
			return "invalid_client";
		case "validation_failed": {
			// A grant type that is a string but not ours is unsupported, not malformed (RFC 6749 5.2).
			const grantType = (body as { grant_type?: unknown } | undefined)?.grant_type;
			const aboutGrant = problem.errors?.some((e) => e.field === "body/grant_type") ?? false;
			return aboutGrant && typeof grantType === "string" && grantType !== ""
				? "unsupported_grant_type"
				: "invalid_request";
		}
		case "payload_too_large":
		case "unsupported_media_type":
		case "method_not_allowed":
			return "invalid_request";
		default:
			return problem.code;
	}
}

/**
 * The token route's error handler. OAuth clients parse `application/json` with `error` and
 * `error_description` (RFC 6749 5.2); the problem fields (`type`, `title`, `status`, `code`,
 * `request_id`, `errors`) ride along in the same body, so our own clients lose nothing.
 */
export function sendTokenError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
	const problem = toProblem(error);
	if (problem.code === "internal") request.log.error({ err: error }, "token request failed");
	else request.log.info({ code: problem.code, detail: problem.message }, "token request refused");
	const oauthError = oauthErrorOf(problem, request.body);
	if (problem.headers) reply.headers(problem.headers);
	if (problem.status === 401 && request.headers.authorization !== undefined) {
		// The error rides in the challenge too: a client that stops at a challenge still learns it.
		reply.header("www-authenticate", `${BASIC_CHALLENGE}, error="${oauthError}"`);
	}
	reply.header("cache-control", "no-store");
	const body = problem.toBody(request.id);
	return reply
		.code(problem.status)
		.type("application/json")
		.send({ error: oauthError, ...(body.detail ? { error_description: body.detail } : {}), ...body });
}

export const TokenErrorSchema = Type.Object(
	{
		error: Type.String({
			description:
				"RFC 6749 5.2 error: invalid_request, invalid_client, unsupported_grant_type; rate_limited, unavailable or internal otherwise.",
		}),
		error_description: Type.Optional(Type.String()),
		type: Type.String({ description: "URI identifying the problem type." }),
		title: Type.String(),
		status: Type.Integer(),
		detail: Type.Optional(Type.String()),
		code: Type.Unsafe<ProblemCode>({
			type: "string",
			enum: [...PROBLEM_CODES],
			description: "The stable problem code, as on every other route.",
		}),
		request_id: Type.String({ description: "The `x-request-id` of the request." }),
		errors: Type.Optional(Type.Array(Type.Unsafe<ProblemFieldError>({ $ref: "ProblemFieldError#" }))),
	},
	{
		[SCHEMA_NAME]: "TokenError",
		additionalProperties: false,
		description: "An RFC 6749 5.2 token error, carrying the problem fields too.",
		examples: [
			{
				error: "invalid_client",
				error_description: "Invalid client credentials.",
				type: "https://igoudar.dev/problems/unauthenticated",
				title: "Authentication required",
				status: 401,
				detail: "Invalid client credentials.",
				code: "unauthenticated",
				request_id: "0193a5b2-7b10-7c00-8d2e-3f4a5b6c7d8e",
			},
		],
	},
);

const tokenErrorStatuses: Record<number, string> = {
	400: "invalid_request (validation_failed), unsupported_grant_type (validation_failed)",
	401: "invalid_client (unauthenticated); WWW-Authenticate when the client sent an Authorization header",
	413: "invalid_request (payload_too_large)",
	415: "invalid_request (unsupported_media_type)",
	429: "rate_limited",
	500: "internal",
	503: "unavailable",
};

/** The token route's error answers for the spec and the serializer: JSON, not problem+json. */
export function tokenErrorResponses(): Record<number, unknown> {
	const out: Record<number, unknown> = {};
	for (const [status, description] of Object.entries(tokenErrorStatuses)) {
		out[Number(status)] = { description, content: { "application/json": { schema: TokenErrorSchema } } };
	}
	return out;
}
