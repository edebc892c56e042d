import type { OperationStatus } from "@igoudar/db";
import { getOperation, listOperations, OperationSchema, presentOperation } from "@igoudar/jobs";
import { type App, contextOf, Page, pageRequest, problems, TenantParams, toPage, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import type { ComputeDeps } from "../deps";

const tags = ["operations"];

const OperationParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), operation_id: Uuid("Operation id.") },
	{ additionalProperties: false },
);

const OperationListQuery = Type.Object(
	{
		limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
		page_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
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
		async (request) => {
			const ctx = contextOf(request, deps.db);
			const page = pageRequest(request.query);
			const rows = await listOperations(ctx.db, request.params.tenant_id, {
				targetId: request.query.target_id,
				status: request.query.status,
				limit: page.limit + 1,
				after: page.after,
			});
			return toPage(rows, page, presentOperation);
		},
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
		async (request) => {
			const ctx = contextOf(request, deps.db);
			const row = await getOperation(ctx.db, request.params.operation_id, { tenantId: request.params.tenant_id });
			if (!row) throw problems.notFound("operation");
			return presentOperation(row);
		},
	);
}
