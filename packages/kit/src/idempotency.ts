import { createHash } from "node:crypto";
import type { Db } from "@igoudar/db";
import { idempotencyRecords } from "@igoudar/db";
import { and, eq, lt } from "drizzle-orm";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ProblemError, problems } from "./errors";

/** How long a completed response replays, as API.md says. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
/**
 * How long a claim blocks other attempts. A process that dies mid-request leaves an in-flight
 * claim; once this passes, a retry may take it over instead of waiting 24 h.
 */
export const IDEMPOTENCY_LOCK_MS = 60 * 1000;

export interface IdempotencyClaim {
	principal: string;
	key: string;
}

/** Canonical JSON: key order must not make two equal bodies look different. */
function canonical(value: unknown): string {
	if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
	if (value && typeof value === "object") {
		const entries = Object.entries(value as Record<string, unknown>)
			.filter(([, v]) => v !== undefined)
			.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
	}
	return JSON.stringify(value ?? null);
}

export function requestFingerprint(method: string, url: string, body: unknown): string {
	return createHash("sha256")
		.update(`${method}\n${url}\n${canonical(body)}`)
		.digest("hex");
}

type Outcome =
	| { kind: "proceed"; claim: IdempotencyClaim }
	| { kind: "replay"; status: number; body: string; contentType: string | null };

/** Claims the key for this request, or says how to answer instead. */
export async function claimIdempotencyKey(
	db: Db,
	principal: string,
	key: string,
	method: string,
	url: string,
	body: unknown,
): Promise<Outcome> {
	const hash = requestFingerprint(method, url, body);
	for (let attempt = 0; attempt < 3; attempt++) {
		const now = Date.now();
		const inserted = await db
			.insert(idempotencyRecords)
			.values({
				principal,
				key,
				method,
				path: url,
				requestHash: hash,
				state: "in_flight",
				lockedUntil: new Date(now + IDEMPOTENCY_LOCK_MS),
				expiresAt: new Date(now + IDEMPOTENCY_RETENTION_MS),
			})
			.onConflictDoNothing()
			.returning({ key: idempotencyRecords.key });
		if (inserted.length === 1) return { kind: "proceed", claim: { principal, key } };

		const [row] = await db
			.select()
			.from(idempotencyRecords)
			.where(and(eq(idempotencyRecords.principal, principal), eq(idempotencyRecords.key, key)));
		if (!row) continue; // deleted between our insert and read: try again
		if (row.expiresAt.getTime() <= now) {
			await db
				.delete(idempotencyRecords)
				.where(
					and(
						eq(idempotencyRecords.principal, principal),
						eq(idempotencyRecords.key, key),
						lt(idempotencyRecords.expiresAt, new Date(now + 1)),
					),
				);
			continue;
		}
		if (row.requestHash !== hash) {
			throw new ProblemError(
				"idempotency_key_reused",
				"This Idempotency-Key was used with a different request; use a new key.",
			);
		}
		if (row.state === "completed") {
			return {
				kind: "replay",
				status: row.responseStatus ?? 200,
				body: row.responseBody ?? "",
				contentType: row.responseContentType,
			};
		}
		if (row.lockedUntil.getTime() > now) {
			throw new ProblemError(
				"idempotency_key_in_use",
				"A request with this Idempotency-Key is still being processed; retry later.",
				{ headers: { "retry-after": "1" } },
			);
		}
		// An abandoned claim: take it over only if nobody else did first.
		const taken = await db
			.update(idempotencyRecords)
			.set({ lockedUntil: new Date(now + IDEMPOTENCY_LOCK_MS) })
			.where(
				and(
					eq(idempotencyRecords.principal, principal),
					eq(idempotencyRecords.key, key),
					eq(idempotencyRecords.state, "in_flight"),
					lt(idempotencyRecords.lockedUntil, new Date(now)),
				),
			)
			.returning({ key: idempotencyRecords.key });
		if (taken.length === 1) return { kind: "proceed", claim: { principal, key } };
	}
	throw new ProblemError("idempotency_key_in_use", "The Idempotency-Key is contended; retry later.");
}

/**
 * Stores the final answer. A server error or a 429 (a limit that says "retry later") releases the
 * key instead, so the retry the answer asks for runs rather than replays the refusal.
 */
export async function completeIdempotencyKey(
	db: Db,
	claim: IdempotencyClaim,
	status: number,
	body: string,
	contentType: string | null,
): Promise<void> {
	// Only a claim still in flight: one the use case completed in its own transaction is final,
	// even if something after that commit answered 5xx.
	const where = and(
		eq(idempotencyRecords.principal, claim.principal),
		eq(idempotencyRecords.key, claim.key),
		eq(idempotencyRecords.state, "in_flight"),
	);
	if (status >= 500 || status === 429) {
		await db.delete(idempotencyRecords).where(where);
		return;
	}
	await db
		.update(idempotencyRecords)
		.set({ state: "completed", responseStatus: status, responseBody: body, responseContentType: contentType })
		.where(where);
}

/**
 * Completes the claim inside the use case's own transaction, with the answer it will give, so
 * the change and its idempotent answer commit together: a process that dies right after the
 * commit leaves a key that replays, never one that runs the request a second time.
 */
export async function commitIdempotentResult(
	tx: Db,
	claim: IdempotencyClaim,
	status: number,
	body: unknown,
): Promise<void> {
	await tx
		.update(idempotencyRecords)
		.set({
			state: "completed",
			responseStatus: status,
			responseBody: JSON.stringify(body),
			responseContentType: "application/json; charset=utf-8",
		})
		.where(
			and(
				eq(idempotencyRecords.principal, claim.principal),
				eq(idempotencyRecords.key, claim.key),
				eq(idempotencyRecords.state, "in_flight"),
			),
		);
}

export async function purgeExpiredIdempotencyKeys(db: Db, now = new Date()): Promise<number> {
	const deleted = await db
		.delete(idempotencyRecords)
		.where(lt(idempotencyRecords.expiresAt, now))
		.returning({ key: idempotencyRecords.key });
	return deleted.length;
}

export async function replayResponse(
	reply: FastifyReply,
	outcome: Extract<Outcome, { kind: "replay" }>,
): Promise<void> {
	reply.header("idempotent-replayed", "true");
	if (outcome.contentType) reply.header("content-type", outcome.contentType);
	await reply.code(outcome.status).send(outcome.body);
}

export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
	const raw = request.headers["idempotency-key"];
	if (raw === undefined) return undefined;
	const key = Array.isArray(raw) ? raw[0] : raw;
	if (!key || key.length > 255) {
		throw problems.validation("Idempotency-Key must be 1 to 255 characters.", [
			{ field: "header/idempotency-key", message: "must be 1 to 255 characters" },
		]);
	}
	return key;
}
