import { type App, contextOf, errorResponses, ListQuery, Page, pageRequest, TenantParams, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { serviceAccountCreate, serviceAccountList, serviceAccountRevoke } from "../app/service-accounts";
import type { TenantsDeps } from "../deps";
import { ServiceAccountCreateBody, ServiceAccountSchema, ServiceAccountWithSecret } from "./schemas";

const tags = ["service-accounts"];
const AccountParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), service_account_id: Uuid("Service account id.") },
	{ additionalProperties: false },
);

export async function serviceAccountRoutes(app: App, deps: TenantsDeps): Promise<void> {
	app.post(
		"/v1/tenants/:tenant_id/service-accounts",
		{
			// A replay (same Idempotency-Key) answers for the same account without the secret.
			config: { access: { role: "admin", tenant: true }, secretFields: ["client_secret"] },
			schema: {
				summary: "Create a service account (its secret is returned once)",
				operationId: "serviceAccountCreate",
				tags,
				params: TenantParams,
				body: ServiceAccountCreateBody,
				response: { 201: ServiceAccountWithSecret, ...errorResponses("conflict") },
			},
		},
		async (request, reply) =>
			reply
				.code(201)
				.send(await serviceAccountCreate(contextOf(request, deps.db), request.params.tenant_id, request.body)),
	);

	app.get(
		"/v1/tenants/:tenant_id/service-accounts",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "List the tenant's service accounts",
				operationId: "serviceAccountList",
				tags,
				params: TenantParams,
				querystring: ListQuery,
				response: { 200: Page(ServiceAccountSchema) },
			},
		},
		async (request) =>
			serviceAccountList(contextOf(request, deps.db), request.params.tenant_id, pageRequest(request.query)),
	);

	app.delete(
		"/v1/tenants/:tenant_id/service-accounts/:service_account_id",
		{
			config: { access: { role: "admin", tenant: true } },
			schema: {
				summary: "Revoke a service account (its tokens stop working at once)",
				operationId: "serviceAccountDelete",
				tags,
				params: AccountParams,
				response: { 204: { type: "null", description: "Revoked." } },
			},
		},
		async (request, reply) => {
			await serviceAccountRevoke(
				contextOf(request, deps.db),
				request.params.tenant_id,
				request.params.service_account_id,
				deps.revocations,
			);
			return reply.code(204).send(null);
		},
	);
}
