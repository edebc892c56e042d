import { paginate } from "../paginate.js";
import type {
	ConsistencyReport,
	PlacementGroup,
	PlacementGroupCreate,
	PricePlan,
	PricePlanCreate,
	QueryOf,
	QuotaDefaults,
	RequestBodyOf,
	ResponseOf,
} from "../types.js";
import { unwrap } from "../unwrap.js";
import { type CallOptions, type Context, headers } from "./context.js";

export function placementGroups({ client }: Context) {
	const at = (tenantId: string, groupId: string) => ({ tenant_id: tenantId, placement_group_id: groupId });
	return {
		create: (tenantId: string, body: PlacementGroupCreate, options?: CallOptions): Promise<PlacementGroup> =>
			unwrap(
				client.POST("/v1/tenants/{tenant_id}/placement-groups", {
					params: { path: { tenant_id: tenantId } },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			),
		get: (tenantId: string, groupId: string, options?: CallOptions): Promise<PlacementGroup> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/placement-groups/{placement_group_id}", {
					params: { path: at(tenantId, groupId) },
					signal: options?.signal,
				}),
			),
		list: (tenantId: string, query: Omit<QueryOf<"placementGroupList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/placement-groups", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		delete: (tenantId: string, groupId: string, options?: CallOptions): Promise<void> =>
			unwrap(
				client.DELETE("/v1/tenants/{tenant_id}/placement-groups/{placement_group_id}", {
					params: { path: at(tenantId, groupId) },
					signal: options?.signal,
				}),
			).then(() => undefined),
	};
}

/** Operators: plans, and the effective-dated rate versions that change them. */
export function pricePlans({ client }: Context) {
	return {
		create: (body: PricePlanCreate, options?: CallOptions): Promise<PricePlan> =>
			unwrap(client.POST("/v1/price-plans", { body, headers: headers(options), signal: options?.signal })),
		get: (pricePlanId: string, options?: CallOptions): Promise<PricePlan> =>
			unwrap(
				client.GET("/v1/price-plans/{price_plan_id}", {
					params: { path: { price_plan_id: pricePlanId } },
					signal: options?.signal,
				}),
			),
		list: (query: Omit<QueryOf<"pricePlanList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/price-plans", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		addVersion: (pricePlanId: string, body: RequestBodyOf<"pricePlanVersionCreate">, options?: CallOptions) =>
			unwrap(
				client.POST("/v1/price-plans/{price_plan_id}/versions", {
					params: { path: { price_plan_id: pricePlanId } },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			),
		/** The plan a tenant is invoiced under (its own, else the default). */
		forTenant: (tenantId: string, options?: CallOptions): Promise<ResponseOf<"tenantPricePlanGet">> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/price-plan", {
					params: { path: { tenant_id: tenantId } },
					signal: options?.signal,
				}),
			),
	};
}

export function auditEvents({ client }: Context) {
	return {
		/** Operators: every tenant's events and the platform's own, newest first. */
		list: (query: Omit<QueryOf<"auditEventList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/audit-events", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		/** Tenant admins: the tenant's events, newest first. */
		listForTenant: (
			tenantId: string,
			query: Omit<QueryOf<"auditEventListForTenant">, "page_token"> = {},
			options?: CallOptions,
		) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/audit-events", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
	};
}

/** Operators: platform-wide settings and the consistency audit. */
export function system({ client }: Context) {
	return {
		quotaDefaults: (options?: CallOptions): Promise<QuotaDefaults> =>
			unwrap(client.GET("/v1/quota-defaults", { signal: options?.signal })),
		setQuotaDefaults: (body: RequestBodyOf<"quotaDefaultsUpdate">, options?: CallOptions): Promise<QuotaDefaults> =>
			unwrap(client.PATCH("/v1/quota-defaults", { body, signal: options?.signal })),
		placementSettings: (options?: CallOptions): Promise<ResponseOf<"placementSettingsGet">> =>
			unwrap(client.GET("/v1/placement-settings", { signal: options?.signal })),
		setPlacementSettings: (
			body: RequestBodyOf<"placementSettingsUpdate">,
			options?: CallOptions,
		): Promise<ResponseOf<"placementSettingsUpdate">> =>
			unwrap(client.PATCH("/v1/placement-settings", { body, signal: options?.signal })),
		consistency: (options?: CallOptions): Promise<ConsistencyReport> =>
			unwrap(client.GET("/v1/system/consistency", { signal: options?.signal })),
		repairConsistency: (options?: CallOptions): Promise<ResponseOf<"consistencyRepair">> =>
			unwrap(client.POST("/v1/system/consistency/repair", { headers: headers(options), signal: options?.signal })),
	};
}
