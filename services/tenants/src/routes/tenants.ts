import { type App, contextOf, errorResponses, ListQuery, Page, pageRequest, TenantParams } from "@igoudar/kit";
import { tenantCreate, tenantDelete, tenantGet, tenantList, tenantUpdate } from "../app/tenants";
import type { TenantsDeps } from "../deps";
import { TenantCreateBody, TenantSchema, TenantUpdateBody } from "./schemas";

const tags = ["tenants"];

export async function tenantRoutes(app: App, deps: TenantsDeps): Promise<void> {
	app.post(
		"/v1/tenants",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Create a tenant",
				operationId: "tenantCreate",
				tags,
				body: TenantCreateBody,
				response: { 201: TenantSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await tenantCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/tenants",
		{
			config: { access: { role: "viewer" } },
			schema: {
				summary: "List tenants (a tenant principal sees its own)",
				operationId: "tenantList",
				tags,
				querystring: ListQuery,
				response: { 200: Page(TenantSchema) },
			},
		},
		async (request) => tenantList(contextOf(request, deps.db), pageRequest(request.query)),
	);

	app.get(
		"/v1/tenants/:tenant_id",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get a tenant",
				operationId: "tenantGet",
				tags,
				params: TenantParams,
				response: { 200: TenantSchema },
			},
		},
		async (request) => tenantGet(contextOf(request, deps.db), request.params.tenant_id),
	);

	app.patch(
		"/v1/tenants/:tenant_id",
		{
			config: { access: { role: "operator", tenant: true } },
			schema: {
				summary: "Update a tenant (status, residency, price plan)",
				description: "A suspended tenant's tokens keep reading, but every write answers 403.",
				operationId: "tenantUpdate",
				tags,
				params: TenantParams,
				body: TenantUpdateBody,
				response: { 200: TenantSchema },
			},
		},
		async (request) =>
			tenantUpdate(contextOf(request, deps.db), request.params.tenant_id, request.body, deps.revocations),
	);

	app.delete(
		"/v1/tenants/:tenant_id",
		{
			config: { access: { role: "operator", tenant: true } },
			schema: {
				summary: "Delete a tenant that owns no resources",
				operationId: "tenantDelete",
				tags,
				params: TenantParams,
				response: { 204: { type: "null", description: "Deleted." }, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => {
			await tenantDelete(contextOf(request, deps.db), request.params.tenant_id, deps.revocations);
			return reply.code(204).send(null);
		},
	);
}
