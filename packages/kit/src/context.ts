import type { Db } from "@igoudar/db";
import { auditEvents } from "@igoudar/db";
import type { WithSubquery } from "drizzle-orm/subquery";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { problems } from "./errors";
import { commitIdempotentResult, type IdempotencyClaim } from "./idempotency";
import type { Principal } from "./principal";

/**
 * What a use case needs to know about the call: who, for which tenant, how to log, and the
 * database handle (the pool, or an open transaction when composed).
 */
export interface Ctx {
	actor: Principal;
	log: FastifyBaseLogger;
	requestId: string;
	/** The client address (through the trusted proxies only): where the call came from, for the audit trail. */
	sourceAddress: string;
	db: Db;
	/** The Idempotency-Key claim of this request, if it carried one. */
	idempotency: IdempotencyClaim | null;
}

export function contextOf(request: FastifyRequest, db: Db): Ctx {
	if (!request.principal) throw problems.unauthenticated();
	return {
		actor: request.principal,
		log: request.log,
		requestId: request.id,
		sourceAddress: request.ip,
		db,
		idempotency: request.idempotency,
	};
}

/**
 * The answer a use case is about to give, recorded for its Idempotency-Key in the use case's
 * transaction (`ctx.db` must be that transaction). Fields named in `omit` (secrets) are left out
 * of what is stored. Returns the answer unchanged.
 */
export async function idempotentResult<T extends object>(
	ctx: Ctx,
	status: number,
	body: T,
	omit: string[] = [],
): Promise<T> {
	if (ctx.idempotency) {
		const stored: Record<string, unknown> = { ...(body as Record<string, unknown>) };
		for (const field of omit) delete stored[field];
		await commitIdempotentResult(ctx.db, ctx.idempotency, status, stored);
	}
	return body;
}

export function withDb(ctx: Ctx, db: Db): Ctx {
	return { ...ctx, db };
}

export interface AuditEntry {
	tenantId: string | null;
	action: string;
	targetType: string;
	targetId?: string | null;
	detail?: Record<string, unknown>;
}

/**
 * Every write leaves an audit event, in the same transaction as the change it records: who (the
 * principal and its role), what (action and target), from where (client address) and which request.
 */
export async function recordAudit(ctx: Ctx, entry: AuditEntry): Promise<void> {
	await insertAudit(ctx, entry);
}

/**
 * `recordAudit` as a statement to run inside another (a CTE of `enqueueOperation`), so a write
 * that also queues an operation records both in one round trip.
 */
export function auditAlongside(ctx: Ctx, entry: AuditEntry): WithSubquery {
	return ctx.db.$with("audit_event").as(insertAudit(ctx, entry).returning({ id: auditEvents.id }));
}

function insertAudit(ctx: Ctx, entry: AuditEntry) {
	return ctx.db.insert(auditEvents).values(auditValues(ctx, entry));
}

function auditValues(ctx: Ctx, entry: AuditEntry) {
	return {
		tenantId: entry.tenantId,
		actorId: ctx.actor.id,
		actorRole: ctx.actor.role,
		action: entry.action,
		targetType: entry.targetType,
		targetId: entry.targetId ?? null,
		requestId: ctx.requestId,
		sourceAddress: ctx.sourceAddress,
		detail: entry.detail,
	};
}
