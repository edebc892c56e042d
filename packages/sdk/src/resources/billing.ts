import { paginate } from "../paginate.js";
import type { Invoice, InvoiceRun, InvoiceRunCreate, QueryOf, Usage, UsageQuery } from "../types.js";
import { unwrap } from "../unwrap.js";
import { type CallOptions, type Context, headers } from "./context.js";

export function usage({ client }: Context) {
	return {
		/** Usage to the second over a window (default: this month so far), per resource on request. */
		get: (tenantId: string, query: UsageQuery = {}, options?: CallOptions): Promise<Usage> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/usage", {
					params: { path: { tenant_id: tenantId }, query },
					signal: options?.signal,
				}),
			),
	};
}

export function invoices({ client }: Context) {
	const at = (tenantId: string, invoiceId: string) => ({ tenant_id: tenantId, invoice_id: invoiceId });
	return {
		list: (tenantId: string, query: Omit<QueryOf<"invoiceList">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/tenants/{tenant_id}/invoices", {
						params: { path: { tenant_id: tenantId }, query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		/** Operators: every tenant's invoices. */
		listAll: (query: Omit<QueryOf<"invoiceListAll">, "page_token"> = {}, options?: CallOptions) =>
			paginate((pageToken) =>
				unwrap(
					client.GET("/v1/invoices", {
						params: { query: { ...query, page_token: pageToken } },
						signal: options?.signal,
					}),
				),
			),
		get: (tenantId: string, invoiceId: string, options?: CallOptions): Promise<Invoice> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/invoices/{invoice_id}", {
					params: { path: at(tenantId, invoiceId) },
					// The route also speaks CSV; this helper asks for (and is typed as) the JSON form.
					headers: { accept: "application/json" },
					signal: options?.signal,
				}),
			) as Promise<Invoice>,
		/** Gives the invoice its number; it is frozen from then on. */
		finalize: (tenantId: string, invoiceId: string, options?: CallOptions): Promise<Invoice> =>
			unwrap(
				client.POST("/v1/tenants/{tenant_id}/invoices/{invoice_id}/finalize", {
					params: { path: at(tenantId, invoiceId) },
					headers: headers(options),
					signal: options?.signal,
				}),
			),
		/** Operators: invoices an ended month; follow it with `getRun`. */
		run: (body: InvoiceRunCreate, options?: CallOptions) =>
			unwrap(client.POST("/v1/invoices/run", { body, headers: headers(options), signal: options?.signal })),
		getRun: (runId: string, options?: CallOptions): Promise<InvoiceRun> =>
			unwrap(client.GET("/v1/invoice-runs/{run_id}", { params: { path: { run_id: runId } }, signal: options?.signal })),
	};
}
