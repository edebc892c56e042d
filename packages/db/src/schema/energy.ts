import { sql } from "drizzle-orm";
import {
	bigint,
	bigserial,
	boolean,
	check,
	doublePrecision,
	index,
	integer,
	pgTable,
	primaryKey,
	text,
	timestamp,
	uniqueIndex,
	uuid,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";
import { zones } from "./compute";

/**
 * Energy and carbon. Every quantity is an integer: watt-hours for energy, milligrams of CO2e for
 * carbon (served as grams with three decimals), bigint read as JS numbers (a site's hourly meter
 * is far below 2^53 Wh), so every roll-up is an exact sum. Hours are timestamptz values on the
 * hour (UTC); each names the hour that starts there.
 */

const wh = (name: string) => bigint(name, { mode: "number" });
const milligrams = (name: string) => bigint(name, { mode: "number" });
const hour = (name = "hour") => timestamp(name, { withTimezone: true, mode: "date" });

/** A metered site: the zones whose hosts its meter feeds. */
export const energySites = pgTable(
	"energy_sites",
	{
		id: idColumn(),
		name: text("name").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [uniqueIndex("energy_sites_name_key").on(t.name)],
);

/** A zone is fed by one site's meter, so every host's energy lands in exactly one balance. */
export const energySiteZones = pgTable(
	"energy_site_zones",
	{
		siteId: uuid("site_id")
			.notNull()
			.references(() => energySites.id, { onDelete: "cascade" }),
		zoneId: uuid("zone_id")
			.notNull()
			.references(() => zones.id),
	},
	(t) => [primaryKey({ columns: [t.siteId, t.zoneId] }), uniqueIndex("energy_site_zones_zone_key").on(t.zoneId)],
);

/** The site meter, the supply mix and the grid's carbon factor of one hour: one row per (site, hour). */
export const energySiteReadings = pgTable(
	"energy_site_readings",
	{
		siteId: uuid("site_id")
			.notNull()
			.references(() => energySites.id, { onDelete: "cascade" }),
		hour: hour().notNull(),
		siteWh: wh("site_wh").notNull(),
		windWh: wh("wind_wh").notNull(),
		solarWh: wh("solar_wh").notNull(),
		batteryWh: wh("battery_wh").notNull(),
		gridWh: wh("grid_wh").notNull(),
		dieselWh: wh("diesel_wh").notNull(),
		gridGco2ePerKwh: integer("grid_gco2e_per_kwh").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		primaryKey({ columns: [t.siteId, t.hour] }),
		check(
			"energy_site_readings_nonnegative",
			sql`${t.siteWh} >= 0 and ${t.windWh} >= 0 and ${t.solarWh} >= 0 and ${t.batteryWh} >= 0 and ${t.gridWh} >= 0 and ${t.dieselWh} >= 0 and ${t.gridGco2ePerKwh} >= 0`,
		),
	],
);

/**
 * What one host's BMC, Redfish endpoint or PDU outlet measured over one hour: one row per
 * (host, hour). No foreign key to the host: a retired host's readings stay with their hour.
 */
export const energyHostReadings = pgTable(
	"energy_host_readings",
	{
		hostId: uuid("host_id").notNull(),
		hour: hour().notNull(),
		siteId: uuid("site_id")
			.notNull()
			.references(() => energySites.id, { onDelete: "cascade" }),
		wh: wh("wh").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		primaryKey({ columns: [t.hostId, t.hour] }),
		index("energy_host_readings_site_hour_idx").on(t.siteId, t.hour),
		check("energy_host_readings_nonnegative", sql`${t.wh} >= 0`),
	],
);

export const ENERGY_HOUR_STATUSES = ["pending", "provisional", "final"] as const;
export type EnergyHourStatus = (typeof ENERGY_HOUR_STATUSES)[number];

/**
 * The state of one site-hour: `pending` (readings, no rows yet), `provisional` (rows computed from
 * the readings so far), `final` (frozen). Every change of a reading bumps `readings_version`; the
 * job recomputes while `computed_version` lags it. The row is also the hour's lock: readings and
 * the job take it FOR UPDATE, so a reading cannot slip in between a computation and its commit.
 */
export const energyHours = pgTable(
	"energy_hours",
	{
		siteId: uuid("site_id")
			.notNull()
			.references(() => energySites.id, { onDelete: "cascade" }),
		hour: hour().notNull(),
		status: text("status", { enum: ENERGY_HOUR_STATUSES }).notNull().default("pending"),
		readingsVersion: integer("readings_version").notNull().default(1),
		computedVersion: integer("computed_version").notNull().default(0),
		methodologyVersion: text("methodology_version"),
		/** The figures the hour's rows were computed from and add up to; null until computed. */
		meterWh: wh("meter_wh"),
		itWh: wh("it_wh"),
		facilityOverheadWh: wh("facility_overhead_wh"),
		/** How far the hosts' and storage's own figures exceeded the meter (scaled down to it). */
		meteringDiscrepancyWh: wh("metering_discrepancy_wh"),
		cfeWh: wh("cfe_wh"),
		/** Site meter over IT energy; null until computed or when no IT energy was drawn. */
		pue: doublePrecision("pue"),
		cfeFraction: doublePrecision("cfe_fraction"),
		computedAt: tsColumn("computed_at"),
		finalizedAt: tsColumn("finalized_at"),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		primaryKey({ columns: [t.siteId, t.hour] }),
		// The job's scan: hours still open, oldest first.
		index("energy_hours_open_idx").on(t.hour).where(sql`${t.status} <> 'final'`),
		check("energy_hours_status_check", sql`${t.status} in ('pending', 'provisional', 'final')`),
	],
);

export const ENERGY_ROW_STATUSES = ["provisional", "final"] as const;
export type EnergyRowStatus = (typeof ENERGY_ROW_STATUSES)[number];

/**
 * The hourly ledger: one row per (site, hour, line). A tenant line names the tenant, its resource
 * and where it ran; operator lines (`unallocated_idle`, ...) have no tenant. The rows of a
 * site-hour always sum to its meter. No foreign keys to tenants or resources: the ledger outlives
 * them, as invoices do.
 */
export const energyAttributions = pgTable(
	"energy_attributions",
	{
		id: bigserial("id", { mode: "number" }).primaryKey(),
		siteId: uuid("site_id")
			.notNull()
			.references(() => energySites.id, { onDelete: "cascade" }),
		hour: hour().notNull(),
		/** `tenant` for a tenant's resource, else the disclosed operator line's name. */
		line: text("line").notNull(),
		/** Volumes: their storage class (its coefficient priced the row). */
		storageClass: text("storage_class"),
		tenantId: uuid("tenant_id"),
		resourceType: text("resource_type"),
		resourceId: uuid("resource_id"),
		zoneId: uuid("zone_id"),
		hostId: uuid("host_id"),
		dynamicWh: wh("dynamic_wh").notNull(),
		idleWh: wh("idle_wh").notNull(),
		facilityOverheadWh: wh("facility_overhead_wh").notNull(),
		totalWh: wh("total_wh").notNull(),
		/** The row's carbon-free energy: roll-ups divide sums of it by sums of `total_wh`. */
		cfeWh: wh("cfe_wh").notNull(),
		scope1Mg: milligrams("scope1_mg").notNull(),
		scope2LocationMg: milligrams("scope2_location_mg").notNull(),
		scope2MarketMg: milligrams("scope2_market_mg").notNull(),
		embodiedMg: milligrams("embodied_mg").notNull(),
		cfeFraction: doublePrecision("cfe_fraction").notNull(),
		status: text("status", { enum: ENERGY_ROW_STATUSES }).notNull(),
		methodologyVersion: text("methodology_version").notNull(),
		/** True when a host's energy came from its power profile because it sent no reading. */
		estimated: boolean("estimated").notNull().default(false),
		createdAt: createdAt(),
	},
	(t) => [
		// Tenant reports: one tenant's rows over a window.
		index("energy_attributions_tenant_hour_idx").on(t.tenantId, t.hour).where(sql`${t.tenantId} is not null`),
		// The site balance and the recomputation of one site-hour.
		index("energy_attributions_site_hour_idx").on(t.siteId, t.hour),
		check("energy_attributions_status_check", sql`${t.status} in ('provisional', 'final')`),
	],
);
