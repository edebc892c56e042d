import { type App, contextOf, errorResponses, namedSchema, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { invoiceRunCreate, invoiceRunGet } from "../app/invoice-runs";
import type { BillingDeps } from "../deps";
import { InvoiceRunAccepted, InvoiceRunSchema } from "./schemas";

const tags = ["billing"];

const InvoiceRunBody = namedSchema(
	"InvoiceRunCreate",
	Type.Object(
		{
			period_start: Type.String({ format: "date-time", description: "First instant of a month (UTC)." }),
			period_end: Type.String({
				format: "date-time",
				description: "First instant of a later month (UTC), exclusive; the months must have ended.",
			}),
		},
		{ additionalProperties: false },
	),
	{ period_start: "2026-10-01T00:00:00Z", period_end: "2026-11-01T00:00:00Z" },
);

const access = { role: "operator" } as const;

export async function invoiceRunRoutes(app: App, deps: BillingDeps): Promise<void> {
	app.post(
		"/v1/invoices/run",
		{
			config: { access },
			schema: {
				summary: "Make the invoices of ended months",
				description:
					"Every tenant with something to bill gets one invoice per calendar month. Idempotent: a month already invoiced for a tenant is skipped, also under parallel runs.",
				operationId: "invoiceRunCreate",
				tags,
				body: InvoiceRunBody,
				response: { 202: InvoiceRunAccepted },
			},
		},
		async (request, reply) =>
			reply.code(202).send(await invoiceRunCreate(contextOf(request, deps.db), deps, request.body)),
	);

	app.get(
		"/v1/invoice-runs/:run_id",
		{
			config: { access },
			schema: {
				summary: "Get an invoice run and its operation",
				operationId: "invoiceRunGet",
				tags,
				params: Type.Object({ run_id: Uuid("Invoice run id.") }, { additionalProperties: false }),
				response: { 200: InvoiceRunSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => invoiceRunGet(contextOf(request, deps.db), request.params.run_id),
	);
}
