import {
	type App,
	contextOf,
	errorResponses,
	ListQuery,
	Name,
	namedSchema,
	Page,
	pageRequest,
	TenantParams,
} from "@igoudar/kit";
import { Type } from "typebox";
import {
	pricePlanCreate,
	pricePlanGet,
	pricePlanList,
	priceVersionCreate,
	tenantPricePlanGet,
} from "../app/price-plans";
import type { BillingDeps } from "../deps";
import { PartialRatesInput, PricePlanSchema, RatesInput, TaxRateInput, TenantPricePlanSchema } from "./schemas";

const tags = ["billing"];

const PricePlanCreateBody = namedSchema(
	"PricePlanCreate",
	Type.Object(
		{
			name: Name("Unique plan name."),
			currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$", description: "ISO 4217 code; default MAD." })),
			rates: RatesInput,
			tax_rate: Type.Optional(TaxRateInput),
			effective_at: Type.Optional(
				Type.String({
					format: "date-time",
					description: "When the first rates apply (default 1970-01-01); they also cover all time before.",
				}),
			),
		},
		{ additionalProperties: false },
	),
	{
		name: "standard-mad",
		currency: "MAD",
		rates: {
			vcpu_hour: "0.120000",
			memory_gib_hour: "0.015000",
			volume_gib_month: "0.800000",
			snapshot_gib_month: "0.400000",
		},
		tax_rate: "0.20",
	},
);

const PriceVersionCreateBody = namedSchema(
	"PricePlanVersionCreate",
	Type.Object(
		{
			effective_at: Type.String({
				format: "date-time",
				description: "From when the new rates apply; not inside a period already invoiced under the plan.",
			}),
			rates: Type.Optional(PartialRatesInput),
			tax_rate: Type.Optional(TaxRateInput),
		},
		{ additionalProperties: false },
	),
	{ effective_at: "2027-01-01T00:00:00Z", rates: { vcpu_hour: "0.110000" } },
);

const PricePlanParams = Type.Object(
	{ price_plan_id: Type.String({ minLength: 1, maxLength: 63, description: "Price plan id or name." }) },
	{ additionalProperties: false },
);

/** Plans are the platform's business: operators only. A tenant reads its own through its tenant path. */
const access = { role: "operator" } as const;

export async function pricePlanRoutes(app: App, deps: BillingDeps): Promise<void> {
	app.post(
		"/v1/price-plans",
		{
			config: { access },
			schema: {
				summary: "Create a price plan",
				operationId: "pricePlanCreate",
				tags,
				body: PricePlanCreateBody,
				response: { 201: PricePlanSchema, ...errorResponses("conflict") },
			},
		},
		async (request, reply) => reply.code(201).send(await pricePlanCreate(contextOf(request, deps.db), request.body)),
	);

	app.get(
		"/v1/price-plans",
		{
			config: { access },
			schema: {
				summary: "List price plans",
				operationId: "pricePlanList",
				tags,
				querystring: ListQuery,
				response: { 200: Page(PricePlanSchema) },
			},
		},
		async (request) => pricePlanList(contextOf(request, deps.db), pageRequest(request.query)),
	);

	app.get(
		"/v1/price-plans/:price_plan_id",
		{
			config: { access },
			schema: {
				summary: "Get a price plan with its rate versions",
				operationId: "pricePlanGet",
				tags,
				params: PricePlanParams,
				response: { 200: PricePlanSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => pricePlanGet(contextOf(request, deps.db), request.params.price_plan_id),
	);

	app.post(
		"/v1/price-plans/:price_plan_id/versions",
		{
			config: { access },
			schema: {
				summary: "Add effective-dated rates to a price plan",
				description:
					"Usage before effective_at stays at the earlier rates. Rates and tax rate left out carry over from the version in effect then. 409 if effective_at falls in a period already invoiced under the plan.",
				operationId: "pricePlanVersionCreate",
				tags,
				params: PricePlanParams,
				body: PriceVersionCreateBody,
				response: { 201: PricePlanSchema, ...errorResponses("not_found", "conflict") },
			},
		},
		async (request, reply) => {
			const ctx = contextOf(request, deps.db);
			const plan = await pricePlanGet(ctx, request.params.price_plan_id);
			return reply.code(201).send(await priceVersionCreate(ctx, plan.id, request.body));
		},
	);

	app.get(
		"/v1/tenants/:tenant_id/price-plan",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Get the price plan a tenant is invoiced under",
				operationId: "tenantPricePlanGet",
				tags,
				params: TenantParams,
				response: { 200: TenantPricePlanSchema },
			},
		},
		async (request) => tenantPricePlanGet(contextOf(request, deps.db), deps.settings, request.params.tenant_id),
	);
}
