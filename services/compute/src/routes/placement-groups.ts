import {
	type App,
	contextOf,
	errorResponses,
	ListQuery,
	Name,
	namedSchema,
	Page,
	pageRequest,
	resourceSchema,
	TenantParams,
	Timestamp,
	Uuid,
} from "@igoudar/kit";
import { Type } from "typebox";
import {
	placementGroupCreate,
	placementGroupDelete,
	placementGroupGet,
	placementGroupList,
} from "../app/placement-groups";
import type { ComputeDeps } from "../deps";

const tags = ["placement-groups"];

const Policy = Type.Union([Type.Literal("affinity"), Type.Literal("anti-affinity")], {
	description: "affinity: every member on one host; anti-affinity: every member on a different host.",
});

const PlacementGroupSchema = resourceSchema(
	"PlacementGroup",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			policy: Policy,
			instance_ids: Type.Array(Uuid(), { description: "Live members, in creation order." }),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a5a0-6a7b-7c8d-9e0f-1a2b3c4d5e6f",
		name: "web",
		policy: "anti-affinity",
		instance_ids: ["0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60"],
		created_at: "2026-11-21T09:58:00Z",
	},
);

const PlacementGroupCreateBody = namedSchema(
	"PlacementGroupCreate",
	Type.Object(
		{ name: Name("Unique among the tenant's placement groups."), policy: Policy },
		{ additionalProperties: false },
	),
	{ name: "web", policy: "anti-affinity" },
);

const GroupParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), placement_group_id: Uuid("Placement group id.") },
	{ additionalProperties: false },
);

export async function placementGroupRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.post(
		"/v1/tenants/:tenant_id/placement-groups",
		{
			config: { access: { role: "member", tenant: true } },
			schema: {
				summary: "Create a placement group",
				operationId: "placementGroupCreate",
				tags,
				params: TenantParams,
				body: PlacementGroupCreateBody,
				response: { 201: PlacementGroupSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) =>
			reply
				.code(201)
				.send(await placementGroupCreate(contextOf(request, deps.db), request.params.tenant_id, request.body)),
	);

	app.get(
		"/v1/tenants/:tenant_id/placement-groups",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "List the tenant's placement groups",
				operationId: "placementGroupList",
				tags,
				params: TenantParams,
				querystring: ListQuery,
				response: { 200: Page(PlacementGroupSchema) },
			},
		},
		async (request) =>
			placementGroupList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query)),
	);

	app.get(
		"/v1/tenants/:tenant_id/placement-groups/:placement_group_id",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get a placement group and its members",
				operationId: "placementGroupGet",
				tags,
				params: GroupParams,
				response: { 200: PlacementGroupSchema },
			},
		},
		async (request) =>
			placementGroupGet(contextOf(request, deps.db), request.params.tenant_id, request.params.placement_group_id),
	);

	app.delete(
		"/v1/tenants/:tenant_id/placement-groups/:placement_group_id",
		{
			config: { access: { role: "member", tenant: true } },
			schema: {
				summary: "Delete a placement group that has no members",
				operationId: "placementGroupDelete",
				tags,
				params: GroupParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => {
			await placementGroupDelete(
				contextOf(request, deps.db),
				request.params.tenant_id,
				request.params.placement_group_id,
			);
			return reply.code(204).send(null);
		},
	);
}
