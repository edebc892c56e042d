import { OperationSchema } from "@igoudar/jobs";
import { Nullable, namedSchema, resourceSchema, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { INFORMATION_METERS } from "../domain/footprint";
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
	energy_kwh: Type.Optional(
		RateInput("energy_kwh (a kWh the energy ledger attributed to the tenant's resources); default 0, not charged"),
	),
};

export const RatesInput = namedSchema("Rates", Type.Object(rateProperties, { additionalProperties: false }), {
	vcpu_hour: "0.12",
	memory_gib_hour: "0.015",
	volume_gib_month: "0.80",
	snapshot_gib_month: "0.40",
	energy_kwh: "1.05",
});
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
		energy_kwh: Decimal("Per kWh of attributed energy; 0: energy is shown on invoices but not charged."),
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

export const PricePlanSchema = resourceSchema(
	"PricePlan",
	Type.Object(
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
		{ additionalProperties: false, description: "Rates in one currency, effective-dated." },
	),
	{
		id: "0193a4e1-2c3d-7b4e-9f50-6b7c8d9e0f12",
		name: "standard-mad",
		currency: "MAD",
		rates: {
			vcpu_hour: "0.120000",
			memory_gib_hour: "0.015000",
			volume_gib_month: "0.800000",
			snapshot_gib_month: "0.400000",
			energy_kwh: "0.000000",
		},
		tax_rate: "0.200000",
		versions: [
			{
				id: "0193a4e1-2c3e-7b4e-9f50-6b7c8d9e0f13",
				effective_at: "1970-01-01T00:00:00Z",
				rates: {
					vcpu_hour: "0.120000",
					memory_gib_hour: "0.015000",
					volume_gib_month: "0.800000",
					snapshot_gib_month: "0.400000",
					energy_kwh: "0.000000",
				},
				tax_rate: "0.200000",
			},
		],
		created_at: "2026-10-01T08:20:00Z",
		updated_at: "2026-10-01T08:20:00Z",
	},
);

export const TenantPricePlanSchema = namedSchema(
	"TenantPricePlan",
	Type.Object(
		{
			source: Type.Union([Type.Literal("assigned"), Type.Literal("default"), Type.Literal("none")], {
				description: "The tenant's own plan, the deployment's default plan, or none (nothing is invoiced).",
			}),
			plan: Nullable(PricePlanSchema),
		},
		{ additionalProperties: false },
	),
);

const MeterName = Type.Unsafe<(typeof METERS)[number]>({ type: "string", enum: [...METERS] });
const LINE_METERS = [...new Set([...METERS, ...INFORMATION_METERS])];
const LineMeterName = Type.Unsafe<(typeof LINE_METERS)[number]>({
	type: "string",
	enum: LINE_METERS,
	description: "A billed meter, or on an information line `energy_kwh` or one of the `co2e_*` figures.",
});

const UsageItem = Type.Object(
	{
		meter: MeterName,
		unit: Type.String({ description: "vCPU-hour, GiB-hour, GiB-month (730 hours) or kWh." }),
		quantity: Decimal("Nine decimals, rounded half to even."),
	},
	{ additionalProperties: false },
);

export const UsageSchema = resourceSchema(
	"Usage",
	Type.Object(
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
		{ additionalProperties: false },
	),
	{
		from: "2026-11-01T00:00:00Z",
		to: "2026-11-22T12:00:00Z",
		items: [
			{ meter: "vcpu_hours", unit: "vCPU-hour", quantity: "1032.000000000" },
			{ meter: "memory_gib_hours", unit: "GiB-hour", quantity: "2064.000000000" },
			{ meter: "volume_gib_months", unit: "GiB-month", quantity: "70.684931507" },
			{ meter: "snapshot_gib_months", unit: "GiB-month", quantity: "0.000000000" },
			{ meter: "energy_kwh", unit: "kWh", quantity: "412.318000000" },
		],
	},
);

const InvoiceLineSchema = Type.Object(
	{
		kind: Type.Union([Type.Literal("usage"), Type.Literal("adjustment"), Type.Literal("information")], {
			description:
				"`adjustment`: usage of an earlier month that arrived after that month was invoiced. `information`: the month's energy (kWh) and carbon (gCO2e: Scope 1, Scope 2 location- and market-based, embodied) from the energy ledger, always priced at zero and never part of the subtotal.",
		}),
		meter: LineMeterName,
		usage_period_start: Timestamp("The month the quantity belongs to."),
		rate_version_id: Uuid("The price plan version whose rate applies."),
		quantity: Decimal("Nine decimals; negative on an adjustment that takes usage back."),
		unit: Type.String(),
		unit_price: Decimal("Six decimals."),
		amount: Decimal("quantity x unit_price, rounded half to even to the currency's minor unit."),
	},
	{ $id: "InvoiceLine", additionalProperties: false },
);

export const InvoiceSchema = resourceSchema(
	"Invoice",
	Type.Object(
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
		{ additionalProperties: false, description: "Amounts are decimal strings, exact." },
	),
	{
		id: "0193b0a0-7b8c-7d9e-8f01-2a3b4c5d6e7f",
		tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
		number: "IGD-2026-000042",
		period_start: "2026-10-01T00:00:00Z",
		period_end: "2026-11-01T00:00:00Z",
		currency: "MAD",
		status: "finalized",
		price_plan_id: "0193a4e1-2c3d-7b4e-9f50-6b7c8d9e0f12",
		lines: [
			{
				kind: "usage",
				meter: "vcpu_hours",
				usage_period_start: "2026-10-01T00:00:00Z",
				rate_version_id: "0193a4e1-2c3e-7b4e-9f50-6b7c8d9e0f13",
				quantity: "1488.000000000",
				unit: "vCPU-hour",
				unit_price: "0.120000",
				amount: "178.56",
			},
		],
		subtotal: "178.56",
		tax_rate: "0.200000",
		tax: "35.71",
		total: "214.27",
		created_at: "2026-11-01T01:00:00Z",
		finalized_at: "2026-11-02T09:00:00Z",
	},
);

export const InvoiceRunSchema = resourceSchema(
	"InvoiceRun",
	Type.Object(
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
		{ additionalProperties: false },
	),
	{
		id: "0193b09f-6a7b-7c8d-9e0f-1a2b3c4d5e6f",
		period_start: "2026-10-01T00:00:00Z",
		period_end: "2026-11-01T00:00:00Z",
		scheduled: true,
		invoices_made: 12,
		operation: null,
		created_at: "2026-11-01T01:00:00Z",
	},
);

export const InvoiceRunAccepted = namedSchema(
	"InvoiceRunAccepted",
	Type.Object({ run: InvoiceRunSchema, operation: OperationSchema }, { additionalProperties: false }),
);
