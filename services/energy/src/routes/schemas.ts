import { Name, Nullable, namedSchema, resourceSchema, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { presentMethodology } from "../app/methodology";
import { CURRENT_METHODOLOGY } from "../domain/methodology";

/** Watt-hours: integers, as meters report them. Up to 10^12 Wh (a terawatt-hour) in an hour. */
const Wh = (description?: string) => Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description });
const Grams = (description: string) =>
	Type.Number({ minimum: 0, description: `${description}, grams CO2e (three decimals: milligram precision).` });
const Fraction = (description: string) => Type.Number({ minimum: 0, maximum: 1, description });
const HourStart = (description = "Start of the hour, UTC.") => Timestamp(description);

const ZoneRef = Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id." });

export const SiteSchema = resourceSchema(
	"Site",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			zones: Type.Array(Type.String(), { description: "Names of the zones whose hosts the site meter feeds." }),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "01938c6e-7b1a-7cc0-8f00-5a1d2b3c4d5e",
		name: "dakhla-1",
		zones: ["dakhla-1"],
		created_at: "2026-12-01T08:00:00.000Z",
		updated_at: "2026-12-01T08:00:00.000Z",
	},
);

export const SiteCreateSchema = namedSchema(
	"SiteCreate",
	Type.Object(
		{
			name: Name("Unique site name."),
			zones: Type.Array(ZoneRef, {
				minItems: 1,
				maxItems: 64,
				description: "Zones fed by this site's meter; a zone belongs to one site only.",
			}),
		},
		{ additionalProperties: false },
	),
	{ name: "dakhla-1", zones: ["dakhla-1"] },
);

export const SupplySchema = namedSchema(
	"EnergySupply",
	Type.Object(
		{
			wind: Wh("From the site's wind turbines."),
			solar: Wh("From the site's solar panels."),
			battery: Wh("Discharged from the site's batteries."),
			grid: Wh("Imported from the grid."),
			diesel: Wh("From the site's diesel generators (Scope 1)."),
		},
		{ additionalProperties: false, description: "What fed the site during the hour, Wh." },
	),
	{ wind: 310_000, solar: 95_000, battery: 0, grid: 20_000, diesel: 0 },
);

const ReadingItem = Type.Object(
	{
		hour: HourStart("Start of the hour (RFC 3339), on the hour in UTC; the hour must have ended."),
		site_wh: Wh("The site meter over the hour."),
		hosts: Type.Optional(
			Type.Array(
				Type.Object(
					{
						host: Type.String({
							minLength: 1,
							maxLength: 63,
							description: "Host name or id, in one of the site's zones.",
						}),
						wh: Wh("What the host's BMC, Redfish endpoint or PDU outlet measured over the hour."),
					},
					{ additionalProperties: false },
				),
				{
					maxItems: 10_000,
					description: "Hosts without a reading are estimated from their power profile (their rows say so).",
				},
			),
		),
		supply_wh: SupplySchema,
		grid_gco2e_per_kwh: Type.Integer({
			minimum: 0,
			maximum: 5_000,
			description: "The grid's location-based carbon intensity during the hour.",
		}),
	},
	{ additionalProperties: false },
);

export const ReadingsBatchSchema = namedSchema(
	"EnergyReadingsBatch",
	Type.Object(
		{ items: Type.Array(ReadingItem, { minItems: 1, maxItems: 744, description: "Up to a month of hours." }) },
		{ additionalProperties: false },
	),
	{
		items: [
			{
				hour: "2026-12-01T12:00:00Z",
				site_wh: 425_000,
				hosts: [{ host: "dakhla-1-h01", wh: 612 }],
				supply_wh: { wind: 310_000, solar: 95_000, battery: 0, grid: 20_000, diesel: 0 },
				grid_gco2e_per_kwh: 610,
			},
		],
	},
);

export const ReadingsResultSchema = namedSchema(
	"EnergyReadingsResult",
	Type.Object(
		{
			items: Type.Array(
				Type.Object(
					{
						hour: HourStart(),
						changed: Type.Boolean({
							description: "False when every reading repeated the stored one: nothing is computed again.",
						}),
					},
					{ additionalProperties: false },
				),
			),
		},
		{ additionalProperties: false },
	),
	{ items: [{ hour: "2026-12-01T12:00:00.000Z", changed: true }] },
);

const Status = Type.Union([Type.Literal("provisional"), Type.Literal("final")], {
	description: "Provisional rows may still change with late readings; final rows never change.",
});

const EnergyWh = Type.Object(
	{
		dynamic: Wh("Energy above idle, shared by vCPU-seconds used."),
		idle: Wh("Idle energy, shared by reserved size; volumes' energy is idle."),
		facility_overhead: Wh("Cooling and losses: the site meter beyond IT energy, by IT energy."),
		total: Wh(),
	},
	{ additionalProperties: false },
);

const Co2eG = Type.Object(
	{
		scope1: Grams("Diesel burnt on site"),
		scope2_location: Grams("Grid import at the hour's grid factor"),
		scope2_market: Grams("Grid import at the market-based factor"),
		embodied: Grams("Making the hosts, amortised per host-hour"),
	},
	{ additionalProperties: false },
);

export const EnergyItemSchema = resourceSchema(
	"EnergyUsage",
	Type.Object(
		{
			hour: Type.Optional(HourStart("Start of the hour (granularity=hour).")),
			day: Type.Optional(HourStart("Start of the UTC day (granularity=day).")),
			month: Type.Optional(HourStart("Start of the UTC month (granularity=month).")),
			resource_type: Type.Optional(
				Type.String({ description: "`instance`, `volume` or `snapshot` (group_by=resource)." }),
			),
			resource_id: Type.Optional(Uuid("The resource (group_by=resource).")),
			zone: Type.Optional(Nullable(Type.String({ description: "Zone name (group_by=zone)." }))),
			zone_id: Type.Optional(Nullable(Uuid("Zone id (group_by=zone)."))),
			energy_wh: EnergyWh,
			co2e_g: Co2eG,
			cfe_fraction: Fraction("Carbon-free share of the energy, matched hour by hour (no banking between hours)."),
			status: Status,
			methodology_version: Type.String({
				description: "The methodology the rows were computed with (the latest if several).",
			}),
			estimated: Type.Boolean({ description: "Some energy came from a power profile, not a reading." }),
		},
		{ additionalProperties: false },
	),
	{
		hour: "2026-12-01T12:00:00.000Z",
		energy_wh: { dynamic: 41, idle: 22, facility_overhead: 7, total: 70 },
		co2e_g: { scope1: 0, scope2_location: 2.009, scope2_market: 2.009, embodied: 11.25 },
		cfe_fraction: 0.952941,
		status: "provisional",
		methodology_version: "2026.1",
		estimated: false,
	},
);

export const EnergyReportSchema = namedSchema(
	"EnergyReport",
	Type.Object(
		{
			from: Timestamp(),
			to: Timestamp(),
			granularity: Type.Union([Type.Literal("hour"), Type.Literal("day"), Type.Literal("month")]),
			items: Type.Array(EnergyItemSchema),
		},
		{ additionalProperties: false },
	),
);

export const BalanceItemSchema = resourceSchema(
	"EnergyBalanceHour",
	Type.Object(
		{
			hour: HourStart(),
			meter_wh: Wh("The site meter."),
			tenants_wh: Wh("Sum of every tenant's rows."),
			unallocated_idle_wh: Wh("Idle energy of capacity nobody rented (with its facility share)."),
			unallocated_dynamic_wh: Wh("Energy above idle of hosts whose instances used no CPU."),
			unattributed_facility_wh: Wh("The meter in an hour with no IT energy to share it by."),
			residual_wh: Type.Integer({ description: "meter_wh less every row: always 0." }),
			it_wh: Wh("Hosts and storage."),
			facility_overhead_wh: Wh("meter_wh less it_wh."),
			metering_discrepancy_wh: Wh(
				"How far the hosts' and storage's own figures exceeded the meter (scaled down to it).",
			),
			pue: Nullable(Type.Number({ description: "meter_wh / it_wh, measured this hour; null without IT energy." })),
			cfe_fraction: Fraction("Carbon-free share of the supply this hour."),
			supply_wh: SupplySchema,
			grid_gco2e_per_kwh: Type.Integer(),
			status: Status,
			methodology_version: Type.String(),
		},
		{ additionalProperties: false },
	),
	{
		hour: "2026-12-01T12:00:00.000Z",
		meter_wh: 425_000,
		tenants_wh: 301_200,
		unallocated_idle_wh: 123_800,
		unallocated_dynamic_wh: 0,
		unattributed_facility_wh: 0,
		residual_wh: 0,
		it_wh: 374_000,
		facility_overhead_wh: 51_000,
		metering_discrepancy_wh: 0,
		pue: 1.1364,
		cfe_fraction: 0.952941,
		supply_wh: { wind: 310_000, solar: 95_000, battery: 0, grid: 20_000, diesel: 0 },
		grid_gco2e_per_kwh: 610,
		status: "provisional",
		methodology_version: "2026.1",
	},
);

export const BalanceSchema = namedSchema(
	"EnergyBalance",
	Type.Object(
		{ site_id: Uuid(), from: Timestamp(), to: Timestamp(), items: Type.Array(BalanceItemSchema) },
		{ additionalProperties: false },
	),
);

export const MethodologySchema = resourceSchema(
	"EnergyMethodology",
	Type.Object(
		{
			version: Type.String(),
			effective_from: Timestamp("First hour the version applies to."),
			idle_weights: Type.Object(
				{ watts_per_vcpu: Type.Number(), watts_per_gb_memory: Type.Number() },
				{
					additionalProperties: false,
					description: "Weights sharing idle energy and embodied carbon by reserved size.",
				},
			),
			storage_wh_per_tb_hour: Type.Record(Type.String(), Type.Number(), {
				description: "Storage energy per class, Wh per TB allocated per hour.",
			}),
			default_storage_wh_per_tb_hour: Type.Number(),
			default_host_power: Type.Object(
				{ idle_w: Type.Number(), max_w: Type.Number() },
				{ additionalProperties: false, description: "For hosts without a power profile." },
			),
			diesel_gco2e_per_kwh: Type.Number(),
			residual_mix_gco2e_per_kwh: Nullable(Type.Number()),
			carbon_free_sources: Type.Array(Type.String()),
			hours_per_year: Type.Number(),
		},
		{ additionalProperties: false },
	),
	// The example is the current version itself, so it can never disagree with what is served.
	presentMethodology(CURRENT_METHODOLOGY),
);

export const MethodologyListSchema = namedSchema(
	"EnergyMethodologyList",
	Type.Object(
		{
			current: Type.String({ description: "The version new hours are computed with." }),
			items: Type.Array(MethodologySchema),
		},
		{ additionalProperties: false },
	),
	{ current: CURRENT_METHODOLOGY.version, items: [presentMethodology(CURRENT_METHODOLOGY)] },
);
