import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";

export function createLogger(level: string): FastifyBaseLogger {
	return pino({
		level,
		base: { service: "igoudar" },
		// Bearer tokens never reach the logs.
		redact: { paths: ["req.headers.authorization", "headers.authorization"], censor: "[redacted]" },
		timestamp: pino.stdTimeFunctions.isoTime,
	}) as unknown as FastifyBaseLogger;
}
