import { type Ctx, problems } from "@igoudar/kit";
import {
	type BalanceRow,
	type Granularity,
	type GroupBy,
	type SummedRow,
	siteBalance,
	tenantEnergy,
} from "../db/reports";
import { findSite } from "../db/sites";
import { HOUR_MS, hourStartOf } from "./hours";

const DAY_MS = 24 * HOUR_MS;

/** The longest window each granularity serves in one answer, and its default length. */
const WINDOWS: Record<Granularity, { maxMs: number; defaultMs: number; label: string }> = {
	hour: { maxMs: 31 * DAY_MS, defaultMs: DAY_MS, label: "31 days" },
	day: { maxMs: 366 * DAY_MS, defaultMs: 30 * DAY_MS, label: "366 days" },
	month: { maxMs: 3660 * DAY_MS, defaultMs: 366 * DAY_MS, label: "3660 days" },
};

export interface WindowQuery {
	from?: string;
	to?: string;
}

/** [from, to): by default the window of its default length that ends with the current hour. */
export function reportWindow(query: WindowQuery, granularity: Granularity, now = new Date()): { from: Date; to: Date } {
	const window = WINDOWS[granularity];
	const to = query.to ? new Date(query.to) : new Date(hourStartOf(now).getTime() + HOUR_MS);
	const from = query.from ? new Date(query.from) : new Date(to.getTime() - window.defaultMs);
	if (!(from < to)) {
		throw problems.validation("from must be before to.", [{ field: "query/from", message: "must be before to" }]);
	}
	if (to.getTime() - from.getTime() > window.maxMs) {
		throw problems.validation(`A window of ${granularity}s spans at most ${window.label}.`, [
			{ field: "query/to", message: `at most ${window.label} after from` },
		]);
	}
	return { from, to };
}

const grams = (milligrams: string) => Number(milligrams) / 1000;
/** Six decimals: a share, not a measurement, so more digits would only suggest false precision. */
const fraction = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e6) / 1e6 : 0);

export interface EnergyItem {
	hour?: string;
	day?: string;
	month?: string;
	resource_type?: string;
	resource_id?: string;
	zone?: string | null;
	zone_id?: string | null;
	energy_wh: { dynamic: number; idle: number; facility_overhead: number; total: number };
	co2e_g: { scope1: number; scope2_location: number; scope2_market: number; embodied: number };
	cfe_fraction: number;
	status: "provisional" | "final";
	methodology_version: string;
	estimated: boolean;
}

function presentEnergy(row: SummedRow, granularity: Granularity, groupBy: GroupBy | undefined): EnergyItem {
	const total = Number(row.total_wh);
	return {
		[granularity]: row.period,
		...(groupBy === "resource" ? { resource_type: row.resource_type ?? "", resource_id: row.resource_id ?? "" } : {}),
		...(groupBy === "zone" ? { zone: row.zone_name, zone_id: row.zone_id } : {}),
		energy_wh: {
			dynamic: Number(row.dynamic_wh),
			idle: Number(row.idle_wh),
			facility_overhead: Number(row.facility_overhead_wh),
			total,
		},
		co2e_g: {
			scope1: grams(row.scope1_mg),
			scope2_location: grams(row.scope2_location_mg),
			scope2_market: grams(row.scope2_market_mg),
			embodied: grams(row.embodied_mg),
		},
		cfe_fraction: fraction(Number(row.cfe_wh), total),
		status: row.all_final ? "final" : "provisional",
		methodology_version: row.methodology_version,
		estimated: row.estimated,
	};
}

export interface EnergyQuery extends WindowQuery {
	granularity?: Granularity;
	group_by?: GroupBy;
}

/** The tenant's energy and carbon, summed per period (and resource or zone when asked). */
export async function tenantEnergyGet(
	ctx: Ctx,
	tenantId: string,
	query: EnergyQuery,
): Promise<{ from: string; to: string; granularity: Granularity; items: EnergyItem[] }> {
	const granularity = query.granularity ?? "hour";
	const { from, to } = reportWindow(query, granularity);
	const rows = await tenantEnergy(ctx.db, tenantId, from, to, granularity, query.group_by);
	return {
		from: from.toISOString(),
		to: to.toISOString(),
		granularity,
		items: rows.map((row) => presentEnergy(row, granularity, query.group_by)),
	};
}

export interface BalanceItem {
	hour: string;
	meter_wh: number;
	tenants_wh: number;
	unallocated_idle_wh: number;
	unallocated_dynamic_wh: number;
	unattributed_facility_wh: number;
	residual_wh: number;
	it_wh: number;
	facility_overhead_wh: number;
	metering_discrepancy_wh: number;
	pue: number | null;
	cfe_fraction: number;
	supply_wh: { wind: number; solar: number; battery: number; grid: number; diesel: number };
	grid_gco2e_per_kwh: number;
	status: "provisional" | "final";
	methodology_version: string;
}

function presentBalance(row: BalanceRow): BalanceItem {
	const meter = Number(row.meter_wh);
	return {
		hour: row.hour,
		meter_wh: meter,
		tenants_wh: Number(row.tenants_wh),
		unallocated_idle_wh: Number(row.unallocated_idle_wh),
		unallocated_dynamic_wh: Number(row.unallocated_dynamic_wh),
		unattributed_facility_wh: Number(row.unattributed_facility_wh),
		// What the rows leave unexplained: zero by construction, and shown so anyone can check.
		residual_wh: meter - Number(row.rows_wh),
		it_wh: Number(row.it_wh),
		facility_overhead_wh: Number(row.facility_overhead_wh),
		metering_discrepancy_wh: Number(row.metering_discrepancy_wh),
		pue: row.pue === null ? null : Math.round(row.pue * 1e4) / 1e4,
		cfe_fraction: Math.round((row.cfe_fraction ?? 0) * 1e6) / 1e6,
		supply_wh: {
			wind: Number(row.wind_wh ?? 0),
			solar: Number(row.solar_wh ?? 0),
			battery: Number(row.battery_wh ?? 0),
			grid: Number(row.grid_wh ?? 0),
			diesel: Number(row.diesel_wh ?? 0),
		},
		grid_gco2e_per_kwh: row.grid_gco2e_per_kwh ?? 0,
		status: row.status === "final" ? "final" : "provisional",
		methodology_version: row.methodology_version ?? "",
	};
}

/** The site's hourly balance: the meter against every line its energy was attributed to. */
export async function siteBalanceGet(
	ctx: Ctx,
	siteId: string,
	query: WindowQuery,
): Promise<{ site_id: string; from: string; to: string; items: BalanceItem[] }> {
	const { from, to } = reportWindow(query, "hour");
	if (!(await findSite(ctx.db, siteId))) throw problems.notFound("site");
	const rows = await siteBalance(ctx.db, siteId, from, to);
	return { site_id: siteId, from: from.toISOString(), to: to.toISOString(), items: rows.map(presentBalance) };
}
