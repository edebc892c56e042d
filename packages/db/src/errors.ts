/** Postgres unique violation on a named constraint, however deep the driver wrapped it. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
	let e: unknown = error;
	for (let depth = 0; e && depth < 4; depth++) {
		const candidate = e as { code?: string; constraint?: string; cause?: unknown };
		if (candidate.code === "23505" && candidate.constraint === constraint) return true;
		e = candidate.cause;
	}
	return false;
}

/** Postgres foreign-key violation (a referenced row vanished or a referencing row exists). */
export function isForeignKeyViolation(error: unknown): boolean {
	let e: unknown = error;
	for (let depth = 0; e && depth < 4; depth++) {
		const candidate = e as { code?: string; cause?: unknown };
		if (candidate.code === "23503") return true;
		e = candidate.cause;
	}
	return false;
}
