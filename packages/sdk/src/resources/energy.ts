import { paginate } from "../paginate.js";
import type {
	EnergyBalance,
	EnergyBalanceQuery,
	EnergyMethodologyList,
	EnergyQuery,
	EnergyReadingsBatch,
	EnergyReadingsResult,
	EnergyReport,
	QueryOf,
	Site,
	SiteCreate,
} from "../types.js";
import { unwrap } from "../unwrap.js";
import { type CallOptions, type Context, headers } from "./context.js";

/** Operators: metered sites, their hourly readings and their energy balance. */
export function sites({ client }: Context) {
	const at = (siteId: string) => ({ site_id: siteId });
	return {
		create: (body: SiteCreate, options?: CallOptions): Promise<Site> =>
			unwrap(client.POST("/v1/sites", { body, headers: headers(options), signal: options?.signal })),
		list: (query: Omit<QueryOf<"siteList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/sites", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		get: (siteId: string, options?: CallOptions): Promise<Site> =>
			unwrap(client.GET("/v1/sites/{site_id}", { params: { path: at(siteId) }, signal: options?.signal })),
		/**
		 * A batch of ended hours' readings. Repeats change nothing; corrections are taken until the
		 * hour is final, then the batch is refused (409 `invalid_state`) and nothing of it is stored.
		 */
		recordReadings: (siteId: string, body: EnergyReadingsBatch, options?: CallOptions): Promise<EnergyReadingsResult> =>
			unwrap(
				client.POST("/v1/sites/{site_id}/readings", {
					params: { path: at(siteId) },
					body,
					headers: headers(options),
					signal: options?.signal,
				}),
			),
		/** The meter against every tenant and disclosed line, hour by hour (`residual_wh` is 0). */
		balance: (siteId: string, query: EnergyBalanceQuery = {}, options?: CallOptions): Promise<EnergyBalance> =>
			unwrap(
				client.GET("/v1/sites/{site_id}/energy-balance", {
					params: { path: at(siteId), query },
					signal: options?.signal,
				}),
			),
	};
}

/** A tenant's energy and carbon, and the methodology every figure names. */
export function energy({ client }: Context) {
	return {
		/** Per hour (default), day or month, optionally per resource or zone. */
		get: (tenantId: string, query: EnergyQuery = {}, options?: CallOptions): Promise<EnergyReport> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/energy", {
					params: { path: { tenant_id: tenantId }, query },
					signal: options?.signal,
				}),
			),
		/** Every methodology version with its coefficients. */
		methodology: (options?: CallOptions): Promise<EnergyMethodologyList> =>
			unwrap(client.GET("/v1/methodology", { signal: options?.signal })),
	};
}
