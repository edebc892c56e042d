import { paginate } from "../paginate.js";
import type {
	QueryOf,
	Quota,
	QuotaUpdate,
	ServiceAccountCreate,
	ServiceAccountWithSecret,
	Tenant,
	TenantCreate,
	TenantUpdate,
} from "../types.js";
import { unwrap } from "../unwrap.js";
import { type WaitOptions, waitForOperation } from "../wait.js";
import { type CallOptions, type Context, headers } from "./context.js";

export function tenants({ client }: Context) {
	const at = (tenantId: string) => ({ tenant_id: tenantId });
	return {
		create: (body: TenantCreate, options?: CallOptions): Promise<Tenant> =>
			unwrap(client.POST("/v1/tenants", { body, headers: headers(options), signal: options?.signal })),
		get: (tenantId: string, options?: CallOptions): Promise<Tenant> =>
			unwrap(client.GET("/v1/tenants/{tenant_id}", { params: { path: at(tenantId) }, signal: options?.signal })),
		update: (tenantId: string, body: TenantUpdate, options?: CallOptions): Promise<Tenant> =>
			unwrap(
				client.PATCH("/v1/tenants/{tenant_id}", { params: { path: at(tenantId) }, body, signal: options?.signal }),
			),
		list: (query: Omit<QueryOf<"tenantList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: (tenantId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/tenants/{tenant_id}", { params: { path: at(tenantId) }, signal: options?.signal }),
			).then(() => undefined),
	};
}

export function serviceAccounts({ client }: Context) {
	return {
		/** The answer is the only time the secret is shown. */
		create: (tenantId: string, body: ServiceAccountCreate, options?: CallOptions): Promise<ServiceAccountWithSecret> =>
			unwrap(
				client.POST("/v1/tenants/{tenant_id}/service-accounts", {
					params: { path: { tenant_id: tenantId } },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			),
		list: (tenantId: string, query: Omit<QueryOf<"serviceAccountList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/service-accounts", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: (tenantId: string, serviceAccountId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/tenants/{tenant_id}/service-accounts/{service_account_id}", {
					params: { path: { tenant_id: tenantId, service_account_id: serviceAccountId } },
					signal: options?.signal,
				}),
			).then(() => undefined),
	};
}

export function quotas({ client }: Context) {
	return {
		/** Every quota of the tenant, with its limit and use. */
		list: async (tenantId: string, options?: CallOptions): Promise<Quota[]> =>
			(
				await unwrap(
					client.GET("/v1/tenants/{tenant_id}/quotas", {
						params: { path: { tenant_id: tenantId } },
						signal: options?.signal,
					}),
				)
			).items,
		/** Operators only. */
		update: async (tenantId: string, body: QuotaUpdate, options?: CallOptions): Promise<Quota[]> =>
			(
				await unwrap(
					client.PATCH("/v1/tenants/{tenant_id}/quotas", {
						params: { path: { tenant_id: tenantId } },
						body,
						signal: options?.signal,
					}),
				)
			).items,
	};
}

export function operations({ client }: Context) {
	return {
		get: (tenantId: string, operationId: string, options?: CallOptions) =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/operations/{operation_id}", {
					params: { path: { tenant_id: tenantId, operation_id: operationId } },
					signal: options?.signal,
				}),
			),
		list: (tenantId: string, query: Omit<QueryOf<"operationList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/operations", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		wait: (tenantId: string, operationId: string, options?: WaitOptions) =>
			waitForOperation(client, tenantId, operationId, options),
	};
}
