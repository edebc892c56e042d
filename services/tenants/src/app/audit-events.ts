import { type Ctx, type PageRequest, problems, toPage } from "@igoudar/kit";
import { type AuditEventFilter, type AuditEventRow, listAuditEvents } from "../db/audit-events";

export interface AuditEventView {
	id: string;
	tenant_id: string | null;
	actor_id: string;
	actor_role: string;
	action: string;
	target_type: string;
	target_id: string | null;
	request_id: string | null;
	source_address: string | null;
	detail: Record<string, unknown> | null;
	created_at: string;
}

export interface AuditEventQuery {
	action?: string;
	actor_id?: string;
	target_id?: string;
	/** RFC 3339, inclusive. */
	from?: string;
	/** RFC 3339, exclusive. */
	to?: string;
}

/**
 * Detail keys that name the platform's machines. Tenants never see hosts, so an event a tenant may
 * read (an instance placed, a stuck instance settled) is shown to it without them.
 */
const HOST_KEYS = new Set(["host_id", "host"]);

function withoutHosts(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(withoutHosts);
	if (value === null || typeof value !== "object") return value;
	const kept: Record<string, unknown> = {};
	for (const [key, inner] of Object.entries(value)) {
		if (!HOST_KEYS.has(key)) kept[key] = withoutHosts(inner);
	}
	return kept;
}

function presenter(ctx: Ctx) {
	const showHosts = ctx.actor.role === "operator";
	return (row: AuditEventRow): AuditEventView => ({
		id: row.id,
		tenant_id: row.tenantId,
		actor_id: row.actorId,
		actor_role: row.actorRole,
		action: row.action,
		target_type: row.targetType,
		target_id: row.targetId,
		request_id: row.requestId,
		source_address: row.sourceAddress,
		detail: row.detail && !showHosts ? (withoutHosts(row.detail) as Record<string, unknown>) : (row.detail ?? null),
		created_at: row.createdAt.toISOString(),
	});
}

function filterOf(query: AuditEventQuery): Omit<AuditEventFilter, "tenantId"> {
	const from = query.from === undefined ? undefined : new Date(query.from);
	const to = query.to === undefined ? undefined : new Date(query.to);
	if (from && to && to < from) {
		throw problems.validation("The window ends before it starts.", [
			{ field: "querystring/to", message: "must not be before from" },
		]);
	}
	return { action: query.action, actorId: query.actor_id, targetId: query.target_id, from, to };
}

/** One tenant's trail: tenant admins read their own, operators any tenant's. */
export async function auditEventListForTenant(ctx: Ctx, tenantId: string, page: PageRequest, query: AuditEventQuery) {
	const rows = await listAuditEvents(ctx.db, { ...filterOf(query), tenantId }, page);
	return toPage(rows, page, presenter(ctx));
}

/** The whole trail, the platform's own events (hosts, flavors, zones, settings) included: operators only. */
export async function auditEventList(ctx: Ctx, page: PageRequest, query: AuditEventQuery) {
	const rows = await listAuditEvents(ctx.db, filterOf(query), page);
	return toPage(rows, page, presenter(ctx));
}
