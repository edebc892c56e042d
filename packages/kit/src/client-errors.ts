import { maxHeaderSize, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import { v7 as uuidv7 } from "uuid";
import { ProblemError, problems } from "./errors";

/** What Node's HTTP parser refused, as the problem the API answers for it. */
function problemFor(error: NodeJS.ErrnoException): ProblemError {
	switch (error.code) {
		case "HPE_HEADER_OVERFLOW":
			// Node counts the request line with the headers, so this is also the answer to a huge URL.
			return new ProblemError(
				"headers_too_large",
				`The request line and headers exceed ${maxHeaderSize} bytes; shorten the URL or the headers.`,
			);
		case "ERR_HTTP_REQUEST_TIMEOUT":
			return new ProblemError("request_timeout", "The request was not received in time.");
		default:
			return problems.validation("The request is not valid HTTP.");
	}
}

/**
 * Node answers some requests before Fastify ever sees them (Fastify's default writes a bare JSON
 * body without a request id). This writes the same problem+json, with an `x-request-id`, as every
 * other refusal. There is no parsed request, so the id is always minted here; it is also on the
 * log line.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Duplex): void {
	// A reset connection has no one left to answer.
	if (error.code === "ECONNRESET" || socket.destroyed) return;
	const problem = problemFor(error);
	const requestId = uuidv7();
	this.log.info({ err: error, request_id: requestId, code: problem.code }, "request refused by the HTTP parser");
	if (!socket.writable) {
		socket.destroy();
		return;
	}
	const body = JSON.stringify(problem.toBody(requestId));
	socket.end(
		[
			`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ""}`,
			"content-type: application/problem+json",
			`content-length: ${Buffer.byteLength(body)}`,
			`x-request-id: ${requestId}`,
			"connection: close",
			"",
			body,
		].join("\r\n"),
	);
}
