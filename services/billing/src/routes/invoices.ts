import { type App, contextOf, errorResponses, ListQuery, Page, pageRequest, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { invoiceCsv, invoiceFinalize, invoiceGet, invoiceList } from "../app/invoices";
import type { BillingDeps } from "../deps";
import { InvoiceSchema } from "./schemas";

const tags = ["billing"];

const Status = Type.Union([Type.Literal("draft"), Type.Literal("finalized")]);

const TenantInvoiceQuery = Type.Object(
	{ ...ListQuery.properties, status: Type.Optional(Status) },
	{ additionalProperties: false },
);

const InvoiceQuery = Type.Object(
	{
		...ListQuery.properties,
		status: Type.Optional(Status),
		tenant_id: Type.Optional(Uuid("Only this tenant's invoices.")),
		period_start: Type.Optional(Timestamp("Only invoices of the month starting then.")),
	},
	{ additionalProperties: false },
);

const InvoiceParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), invoice_id: Uuid("Invoice id.") },
	{ additionalProperties: false },
);

/** Whether the caller asked for CSV: `Accept: text/csv` (alone or preferred by order). */
function wantsCsv(accept: string | undefined): boolean {
	if (!accept) return false;
	const types = accept.split(",").map((part) => part.split(";")[0]?.trim().toLowerCase());
	const csv = types.indexOf("text/csv");
	const json = types.indexOf("application/json");
	return csv >= 0 && (json < 0 || csv < json);
}

export async function invoiceRoutes(app: App, deps: BillingDeps): Promise<void> {
	app.get(
		"/v1/invoices",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "List invoices across tenants",
				operationId: "invoiceListAll",
				tags,
				querystring: InvoiceQuery,
				response: { 200: Page(InvoiceSchema) },
			},
		},
		async (request) => {
			const { tenant_id, status, period_start } = request.query;
			return invoiceList(contextOf(request, deps.db), pageRequest(request.query), {
				tenantId: tenant_id,
				status,
				periodStart: period_start ? new Date(period_start) : undefined,
			});
		},
	);

	app.get(
		"/v1/tenants/:tenant_id/invoices",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "List a tenant's invoices",
				operationId: "invoiceList",
				tags,
				params: Type.Object({ tenant_id: Uuid("Tenant id.") }, { additionalProperties: false }),
				querystring: TenantInvoiceQuery,
				response: { 200: Page(InvoiceSchema) },
			},
		},
		async (request) =>
			invoiceList(contextOf(request, deps.db), pageRequest(request.query), {
				tenantId: request.params.tenant_id,
				status: request.query.status,
			}),
	);

	app.get(
		"/v1/tenants/:tenant_id/invoices/:invoice_id",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get an invoice, as JSON or (Accept: text/csv) its lines as CSV",
				operationId: "invoiceGet",
				tags,
				params: InvoiceParams,
				response: {
					200: {
						description: "The invoice; with `Accept: text/csv`, its lines as CSV with a header row.",
						content: {
							"application/json": { schema: InvoiceSchema },
							"text/csv": { schema: Type.String() },
						},
					},
					...errorResponses("not_found"),
				},
			},
		},
		async (request, reply) => {
			const invoice = await invoiceGet(
				contextOf(request, deps.db),
				request.params.tenant_id,
				request.params.invoice_id,
			);
			if (!wantsCsv(request.headers.accept)) return invoice;
			const name = invoice.number ?? `draft-${invoice.id}`;
			return reply
				.type("text/csv; charset=utf-8")
				.header("content-disposition", `attachment; filename="${name}.csv"`)
				.send(invoiceCsv(invoice));
		},
	);

	app.post(
		"/v1/tenants/:tenant_id/invoices/:invoice_id/finalize",
		{
			config: { access: { role: "operator", tenant: true } },
			schema: {
				summary: "Finalize a draft invoice",
				description:
					"Assigns the next number of the year (gapless). A finalized invoice never changes: finalizing it again answers 409.",
				operationId: "invoiceFinalize",
				tags,
				params: InvoiceParams,
				response: { 200: InvoiceSchema, ...errorResponses("conflict") },
			},
		},
		async (request) =>
			invoiceFinalize(contextOf(request, deps.db), request.params.tenant_id, request.params.invoice_id),
	);
}
