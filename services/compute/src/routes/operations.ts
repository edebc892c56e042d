import type { OperationStatus } from "@igoudar/db";
import { OperationSchema } from "@igoudar/jobs";
import { type App, contextOf, ListQuery, Page, pageRequest, TenantParams, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { operationGet, operationList } from "../app/operations";
import type { ComputeDeps } from "../deps";

const tags = ["operations"];

const OperationParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), operation_id: Uuid("Operation id.") },
	{ additionalProperties: false },
);

const OperationListQuery = Type.Object(
	{
		...ListQuery.properties,
		target_id: Type.Optional(Uuid("Only operations on this resource.")),
		status: Type.Optional(
			Type.Unsafe<OperationStatus>({ type: "string", enum: ["pending", "running", "succeeded", "failed"] }),
		),
	},
	{ additionalProperties: false },
);

export async function operationRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.get(
		"/v1/tenants/:tenant_id/operations",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "List operations",
				operationId: "operationList",
				tags,
				params: TenantParams,
				querystring: OperationListQuery,
				response: { 200: Page(OperationSchema) },
			},
		},
		async (request) =>
			operationList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query), {
				targetId: request.query.target_id,
				status: request.query.status,
			}),
	);

	app.get(
		"/v1/tenants/:tenant_id/operations/:operation_id",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get an operation",
				operationId: "operationGet",
				tags,
				params: OperationParams,
				response: { 200: OperationSchema },
			},
		},
		async (request) => operationGet(contextOf(request, deps.db), request.params.tenant_id, request.params.operation_id),
	);
}
