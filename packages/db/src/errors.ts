/**
 * The Postgres error inside whatever the driver wrapped it in (drizzle wraps pg's and PGlite's
 * errors in its own, with the original as `cause`).
 */
export function postgresError(error: unknown): { code: string; constraint?: string } | undefined {
	let e: unknown = error;
	for (let depth = 0; e && depth < 4; depth++) {
		const candidate = e as { code?: unknown; constraint?: unknown; cause?: unknown };
		// Postgres SQLSTATE codes are five characters; Node's own codes (ECONNREFUSED) are not.
		if (typeof candidate.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code)) {
			return {
				code: candidate.code,
				constraint: typeof candidate.constraint === "string" ? candidate.constraint : undefined,
			};
		}
		e = candidate.cause;
	}
	return undefined;
}

/** Postgres unique violation on a named constraint. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
	const pg = postgresError(error);
	return pg?.code === "23505" && pg.constraint === constraint;
}

/** Postgres foreign-key violation (a referenced row vanished or a referencing row exists). */
export function isForeignKeyViolation(error: unknown): boolean {
	return postgresError(error)?.code === "23503";
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when the value can be compared with a uuid column (Postgres rejects any other string). */
export function isUuid(value: string): boolean {
	return UUID.test(value);
}

// SQLSTATE class 08 (connection exception), and the server shutting down, starting up or full.
const UNAVAILABLE_STATES = /^(08...|57P01|57P02|57P03|53300)$/;
const UNAVAILABLE_ERRNOS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * The database could not be reached or dropped the connection (a restart, a failover, a full
 * connection table): worth answering 503 with Retry-After rather than 500, since a retry in a
 * moment will most likely succeed, and nothing was committed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
	let e: unknown = error;
	for (let depth = 0; e && depth < 4; depth++) {
		const candidate = e as { code?: unknown; message?: unknown; cause?: unknown };
		if (typeof candidate.code === "string") {
			if (UNAVAILABLE_STATES.test(candidate.code) || UNAVAILABLE_ERRNOS.has(candidate.code)) return true;
		}
		// node-postgres reports a lost or timed-out connection with a message and no code.
		if (
			typeof candidate.message === "string" &&
			/^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(
				candidate.message,
			)
		) {
			return true;
		}
		e = candidate.cause;
	}
	return false;
}
