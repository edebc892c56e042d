import type { Db } from "@igoudar/db";
import { auditEvents } from "@igoudar/db";
import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";

export type AuditEventRow = typeof auditEvents.$inferSelect;

export interface AuditEventFilter {
	/** One tenant's events only; absent: every event, the platform's own included. */
	tenantId?: string;
	action?: string;
	actorId?: string;
	targetId?: string;
	/** Inclusive lower bound on `created_at`. */
	from?: Date;
	/** Exclusive upper bound on `created_at`. */
	to?: Date;
}

/**
 * Newest first: ids are time-ordered, so the page cursor is the last id seen and the next page
 * holds the smaller ids. Reads `limit + 1` rows (the extra one only proves a next page exists).
 */
export async function listAuditEvents(
	db: Db,
	filter: AuditEventFilter,
	page: { limit: number; after?: string },
): Promise<AuditEventRow[]> {
	const conditions: (SQL | undefined)[] = [
		filter.tenantId === undefined ? undefined : eq(auditEvents.tenantId, filter.tenantId),
		filter.action === undefined ? undefined : eq(auditEvents.action, filter.action),
		filter.actorId === undefined ? undefined : eq(auditEvents.actorId, filter.actorId),
		filter.targetId === undefined ? undefined : eq(auditEvents.targetId, filter.targetId),
		filter.from === undefined ? undefined : gte(auditEvents.createdAt, filter.from),
		filter.to === undefined ? undefined : lt(auditEvents.createdAt, filter.to),
		page.after === undefined ? undefined : lt(auditEvents.id, page.after),
	];
	return db
		.select()
		.from(auditEvents)
		.where(and(...conditions))
		.orderBy(desc(auditEvents.id))
		.limit(page.limit + 1);
}

/**
 * An event recorded outside a use case's context, such as a token issued to a client that is not
 * yet an authenticated principal of the request.
 */
export async function insertAuditEvent(db: Db, values: typeof auditEvents.$inferInsert): Promise<void> {
	await db.insert(auditEvents).values(values);
}
