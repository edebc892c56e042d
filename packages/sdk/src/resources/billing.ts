import { paginate } from "../paginate.js";
import type { Invoice, InvoiceRun, InvoiceRunCreate, QueryOf, Usage, UsageQuery } from "../types.js";
import { unwrap } from "../unwrap.js";
import { pollOperation, type WaitFlag } from "../wait.js";
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
		/**
		 * The invoice as CSV (one row per line, for spreadsheets and accounting imports), as text.
		 */
		csv: async (tenantId: string, invoiceId: string, options?: CallOptions): Promise<string> =>
			unwrap(
				client.GET("/v1/tenants/{tenant_id}/invoices/{invoice_id}", {
					params: { path: at(tenantId, invoiceId) },
					headers: { accept: "text/csv" },
					parseAs: "text",
					signal: options?.signal,
				}),
			) as Promise<string>,
		/**
		 * Operators: invoices ended months. `{ wait: true }` resolves once the run has ended, with
		 * the run as it then is (the count of invoices it made); its operation belongs to no tenant,
		 * so the wait reads it through the run.
		 */
		run: async (body: InvoiceRunCreate, options?: CallOptions & WaitFlag) => {
			const answer = await unwrap(
				client.POST("/v1/invoices/run", { body, headers: headers(options), signal: options?.signal }),
			);
			if (!options?.wait) return answer;
			const wait = options.wait === true ? {} : options.wait;
			const runId = answer.run.id;
			const operation = await pollOperation(
				answer.operation.id,
				{ signal: options.signal, ...wait },
				async (signal) => {
					let requestId: string | undefined;
					const run = await unwrap(
						client.GET("/v1/invoice-runs/{run_id}", { params: { path: { run_id: runId } }, signal }).then((got) => {
							requestId = got.response.headers.get("x-request-id") ?? undefined;
							return got;
						}),
					);
					return { operation: run.operation ?? answer.operation, requestId };
				},
			);
			const run = await unwrap(
				client.GET("/v1/invoice-runs/{run_id}", { params: { path: { run_id: runId } }, signal: options.signal }),
			);
			return { run, operation };
		},
		getRun: (runId: string, options?: CallOptions): Promise<InvoiceRun> =>
			unwrap(client.GET("/v1/invoice-runs/{run_id}", { params: { path: { run_id: runId } }, signal: options?.signal })),
	};
}
