import { OperationSchema } from "@igoudar/jobs";
import { Nullable, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { METERS } from "../domain/metering";

const Decimal = (description: string) => Type.String({ pattern: "^-?\\d+(\\.\\d+)?$", description });

/** A rate as sent: a plain decimal string, up to 12 whole digits and 6 decimals ("0.0125"). */
const RateInput = (meter: string) =>
	Type.String({
		pattern: "^\\d{1,12}(\\.\\d{1,6})?$",
		description: `Price of one unit of ${meter} in the plan's currency, as a decimal string (at most 6 decimals).`,
	});

const rateProperties = {
	vcpu_hour: RateInput("vcpu_hours (a vCPU for an hour)"),
	memory_gib_hour: RateInput("memory_gib_hours (a GiB of memory for an hour)"),
	volume_gib_month: RateInput("volume_gib_months (a GiB of volume for 730 hours)"),
	snapshot_gib_month: RateInput("snapshot_gib_months (a GiB of snapshot for 730 hours)"),
};

export const RatesInput = Type.Object(rateProperties, { additionalProperties: false });
export const PartialRatesInput = Type.Partial(RatesInput, { additionalProperties: false });

export const TaxRateInput = Type.String({
	pattern: "^(0(\\.\\d{1,6})?|1(\\.0{1,6})?)$",
	description: "Tax as a fraction of the subtotal, e.g. `0.20` for 20 %; default 0.",
});

const Rates = Type.Object(
	{
		vcpu_hour: Decimal("Per vCPU-hour."),
		memory_gib_hour: Decimal("Per GiB-hour of memory."),
		volume_gib_month: Decimal("Per GiB-month of volume."),
		snapshot_gib_month: Decimal("Per GiB-month of snapshot."),
	},
	{ additionalProperties: false },
);

const PriceVersionSchema = Type.Object(
	{
		id: Uuid(),
		effective_at: Timestamp("From when it applies, until the next version's effective_at."),
		rates: Rates,
		tax_rate: Decimal("Fraction of the subtotal."),
	},
	{ $id: "PricePlanVersion", additionalProperties: false },
);

export const PricePlanSchema = Type.Object(
	{
		id: Uuid(),
		name: Type.String(),
		currency: Type.String({ description: "ISO 4217 code." }),
		rates: Rates,
		tax_rate: Decimal("Tax rate in effect now, as a fraction."),
		versions: Type.Array(PriceVersionSchema, {
			description: "Every rate version, earliest first; the earliest also covers all time before it.",
		}),
		created_at: Timestamp(),
		updated_at: Timestamp(),
	},
	{ $id: "PricePlan", additionalProperties: false, description: "Rates in one currency, effective-dated." },
);

export const TenantPricePlanSchema = Type.Object(
	{
		source: Type.Union([Type.Literal("assigned"), Type.Literal("default"), Type.Literal("none")], {
			description: "The tenant's own plan, the deployment's default plan, or none (nothing is invoiced).",
		}),
		plan: Nullable(PricePlanSchema),
	},
	{ $id: "TenantPricePlan", additionalProperties: false },
);

const MeterName = Type.Unsafe<(typeof METERS)[number]>({ type: "string", enum: [...METERS] });

const UsageItem = Type.Object(
	{
		meter: MeterName,
		unit: Type.String({ description: "vCPU-hour, GiB-hour or GiB-month (730 hours)." }),
		quantity: Decimal("Nine decimals, rounded half to even."),
	},
	{ additionalProperties: false },
);

export const UsageSchema = Type.Object(
	{
		from: Timestamp(),
		to: Timestamp("The end of the window, or now if that comes first."),
		items: Type.Array(UsageItem, { description: "Every meter, zero included." }),
		resources: Type.Optional(
			Type.Array(
				Type.Object(
					{
						resource_type: Type.Union([Type.Literal("instance"), Type.Literal("volume"), Type.Literal("snapshot")]),
						resource_id: Uuid(),
						items: Type.Array(UsageItem, { description: "The meters this resource used." }),
					},
					{ additionalProperties: false },
				),
				{ description: "With group_by=resource: each resource's share, rounded on its own." },
			),
		),
	},
	{ $id: "Usage", additionalProperties: false },
);

const InvoiceLineSchema = Type.Object(
	{
		kind: Type.Union([Type.Literal("usage"), Type.Literal("adjustment")], {
			description: "`adjustment`: usage of an earlier month that arrived after that month was invoiced.",
		}),
		meter: MeterName,
		usage_period_start: Timestamp("The month the quantity belongs to."),
		rate_version_id: Uuid("The price plan version whose rate applies."),
		quantity: Decimal("Nine decimals; negative on an adjustment that takes usage back."),
		unit: Type.String(),
		unit_price: Decimal("Six decimals."),
		amount: Decimal("quantity x unit_price, rounded half to even to the currency's minor unit."),
	},
	{ $id: "InvoiceLine", additionalProperties: false },
);

export const InvoiceSchema = Type.Object(
	{
		id: Uuid(),
		tenant_id: Uuid(),
		number: Nullable(Type.String({ description: "IGD-<year>-<sequence>, gapless per year; set when finalized." })),
		period_start: Timestamp(),
		period_end: Timestamp(),
		currency: Type.String(),
		status: Type.Union([Type.Literal("draft"), Type.Literal("finalized")]),
		price_plan_id: Uuid(),
		lines: Type.Array(InvoiceLineSchema),
		subtotal: Decimal("Sum of the line amounts."),
		tax_rate: Decimal("Fraction of the subtotal."),
		tax: Decimal("subtotal x tax_rate, rounded half to even to the minor unit."),
		total: Decimal("subtotal + tax."),
		created_at: Timestamp(),
		finalized_at: Nullable(Timestamp()),
	},
	{ $id: "Invoice", additionalProperties: false, description: "Amounts are decimal strings, exact." },
);

export const InvoiceRunSchema = Type.Object(
	{
		id: Uuid(),
		period_start: Timestamp(),
		period_end: Timestamp(),
		scheduled: Type.Boolean({ description: "Made by the workers' monthly schedule." }),
		invoices_made: Type.Integer({
			description: "Invoices this run made; others of its months may come from other runs.",
		}),
		operation: Nullable(OperationSchema),
		created_at: Timestamp(),
	},
	{ $id: "InvoiceRun", additionalProperties: false },
);

export const InvoiceRunAccepted = Type.Object(
	{ run: InvoiceRunSchema, operation: OperationSchema },
	{ additionalProperties: false },
);
