import {
	type App,
	contextOf,
	ListQuery,
	Nullable,
	Page,
	pageRequest,
	resourceSchema,
	TenantParams,
	Timestamp,
	Uuid,
} from "@igoudar/kit";
import { Type } from "typebox";
import { auditEventList, auditEventListForTenant } from "../app/audit-events";
import type { TenantsDeps } from "../deps";

const tags = ["audit"];

const AuditEventSchema = resourceSchema(
	"AuditEvent",
	Type.Object(
		{
			id: Uuid(),
			tenant_id: Nullable(Uuid("The tenant the event belongs to; null for the platform's own (hosts, zones, ...).")),
			actor_id: Type.String({
				description: "The service account that acted (the token's `sub`), or `system` for the platform's own work.",
			}),
			actor_role: Type.String({ description: "The actor's role when it acted: operator, admin, member or system." }),
			action: Type.String({ description: "What was done, `<resource>.<verb>`, e.g. `instance.create`." }),
			target_type: Type.String(),
			target_id: Nullable(Type.String({ description: "The resource acted on." })),
			request_id: Nullable(
				Type.String({ description: "The `x-request-id` of the request; null for background work." }),
			),
			source_address: Nullable(
				Type.String({
					description:
						"The client address the request came from (through the configured trusted proxies only); null for background work.",
				}),
			),
			detail: Nullable(
				Type.Object({}, { additionalProperties: true, description: "What changed, in the action's own terms." }),
			),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a5c0-8d9e-7f01-a234-6c7d8e9f0a1b",
		tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
		actor_id: "0193a4f2-3d4e-7c5f-8a61-7c8d9e0f1a23",
		actor_role: "member",
		action: "instance.create",
		target_type: "instance",
		target_id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
		request_id: "0193a5b2-7b10-7c00-8d2e-3f4a5b6c7d8e",
		source_address: "196.200.131.17",
		detail: { name: "web-1", flavor: "c2-m4", zone: "dakhla-1" },
		created_at: "2026-11-21T10:02:03Z",
	},
);

const AuditEventQuery = Type.Object(
	{
		...ListQuery.properties,
		action: Type.Optional(
			Type.String({ minLength: 1, maxLength: 100, pattern: "^[a-z][a-z0-9_.]*$", description: "Only this action." }),
		),
		actor_id: Type.Optional(
			Type.String({ minLength: 1, maxLength: 255, description: "Only events by this actor (an id, or `system`)." }),
		),
		target_id: Type.Optional(
			Type.String({ minLength: 1, maxLength: 255, description: "Only events on this resource." }),
		),
		from: Type.Optional(Timestamp("Only events at or after this time (RFC 3339).")),
		to: Type.Optional(Timestamp("Only events before this time (RFC 3339); not before `from`.")),
	},
	{ additionalProperties: false },
);

const ORDER = "Newest first; `next_page_token` goes on to older events.";

export async function auditEventRoutes(app: App, deps: TenantsDeps): Promise<void> {
	app.get(
		"/v1/tenants/:tenant_id/audit-events",
		{
			config: { access: { role: "admin", tenant: true } },
			schema: {
				summary: "List the tenant's audit events: who did what, when, from where",
				description: `Every change made in the tenant and every token issued to its service accounts. ${ORDER} Host ids are left out of the details shown to tenants.`,
				operationId: "auditEventListForTenant",
				tags,
				params: TenantParams,
				querystring: AuditEventQuery,
				response: { 200: Page(AuditEventSchema) },
			},
		},
		async (request) => {
			const { tenant_id: tenantId } = request.params;
			return auditEventListForTenant(contextOf(request, deps.db), tenantId, pageRequest(request.query), request.query);
		},
	);

	app.get(
		"/v1/audit-events",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "List every audit event of the platform",
				description: `Every tenant's events and the platform's own (hosts, zones, flavors, settings, repairs). ${ORDER}`,
				operationId: "auditEventList",
				tags,
				querystring: AuditEventQuery,
				response: { 200: Page(AuditEventSchema) },
			},
		},
		async (request) => auditEventList(contextOf(request, deps.db), pageRequest(request.query), request.query),
	);
}
