import { type App, contextOf, TenantParams } from "@igoudar/kit";
import { quotaDefaultsGet, quotaDefaultsUpdate, quotaList, quotaUpdate } from "../app/quotas";
import type { TenantsDeps } from "../deps";
import { QuotaDefaultList, QuotaList, QuotaUpdateBody } from "./schemas";

const tags = ["quotas"];

export async function quotaRoutes(app: App, deps: TenantsDeps): Promise<void> {
	app.get(
		"/v1/tenants/:tenant_id/quotas",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Show the tenant's quota limits and usage",
				operationId: "quotaList",
				tags,
				params: TenantParams,
				response: { 200: QuotaList },
			},
		},
		async (request) => quotaList(contextOf(request, deps.db), request.params.tenant_id),
	);

	app.patch(
		"/v1/tenants/:tenant_id/quotas",
		{
			config: { access: { role: "operator", tenant: true } },
			schema: {
				summary: "Set quota limits (may go below usage: new requests are refused until it drops)",
				operationId: "quotaUpdate",
				tags,
				params: TenantParams,
				body: QuotaUpdateBody,
				response: { 200: QuotaList },
			},
		},
		async (request) => quotaUpdate(contextOf(request, deps.db), request.params.tenant_id, request.body.limits),
	);

	app.get(
		"/v1/quota-defaults",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Show the limits new tenants start with",
				operationId: "quotaDefaultsGet",
				tags,
				response: { 200: QuotaDefaultList },
			},
		},
		async (request) => quotaDefaultsGet(contextOf(request, deps.db)),
	);

	app.patch(
		"/v1/quota-defaults",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Set the limits new tenants start with",
				operationId: "quotaDefaultsUpdate",
				tags,
				body: QuotaUpdateBody,
				response: { 200: QuotaDefaultList },
			},
		},
		async (request) => quotaDefaultsUpdate(contextOf(request, deps.db), request.body.limits),
	);
}
