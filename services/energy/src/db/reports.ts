import type { Db } from "@igoudar/db";
import { energyAttributions, energyHours, energySiteReadings, zones } from "@igoudar/db";
import { type SQL, sql } from "drizzle-orm";
import { rowsOf } from "./sql";

const instant = (date: Date) => sql`${date.toISOString()}::timestamptz`;
/** RFC 3339 in UTC, as text, so both drivers read the same string. */
const rfc3339 = (value: SQL) => sql`to_char(${value} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export type Granularity = "hour" | "day" | "month";
export type GroupBy = "resource" | "zone";

/** Sums as text: node-postgres and PGlite read bigint sums differently, text reads the same. */
export interface SummedRow {
	period: string;
	resource_type: string | null;
	resource_id: string | null;
	zone_id: string | null;
	zone_name: string | null;
	dynamic_wh: string;
	idle_wh: string;
	facility_overhead_wh: string;
	total_wh: string;
	cfe_wh: string;
	scope1_mg: string;
	scope2_location_mg: string;
	scope2_market_mg: string;
	embodied_mg: string;
	all_final: boolean;
	estimated: boolean;
	methodology_version: string;
}

const sumText = (column: SQL) => sql`coalesce(sum(${column}), 0)::bigint::text`;

/**
 * A tenant's ledger rows over [from, to), summed per UTC hour, day or month, and per resource or
 * zone when asked. Strictly the tenant's own rows: `tenant_id` is the first condition (and the
 * index's first column).
 */
export async function tenantEnergy(
	db: Db,
	tenantId: string,
	from: Date,
	to: Date,
	granularity: Granularity,
	groupBy: GroupBy | undefined,
): Promise<SummedRow[]> {
	const a = energyAttributions;
	// Inlined, not a parameter: Postgres must see the grouped expression and the selected one as equal.
	const unit = sql.raw(`'${({ hour: "hour", day: "day", month: "month" } as const)[granularity]}'`);
	const period = sql`(date_trunc(${unit}, ${a.hour} at time zone 'UTC') at time zone 'UTC')`;
	const keys =
		groupBy === "resource"
			? sql`${a.resourceType} as resource_type, ${a.resourceId} as resource_id, null::uuid as zone_id, null::text as zone_name`
			: groupBy === "zone"
				? sql`null::text as resource_type, null::uuid as resource_id, ${a.zoneId} as zone_id, min(${zones.name}) as zone_name`
				: sql`null::text as resource_type, null::uuid as resource_id, null::uuid as zone_id, null::text as zone_name`;
	const groupKeys =
		groupBy === "resource"
			? sql`, ${a.resourceType}, ${a.resourceId}`
			: groupBy === "zone"
				? sql`, ${a.zoneId}`
				: sql``;
	return rowsOf<SummedRow>(
		await db.execute(sql`
		select ${rfc3339(period)} as period, ${keys},
			${sumText(sql`${a.dynamicWh}`)} as dynamic_wh, ${sumText(sql`${a.idleWh}`)} as idle_wh,
			${sumText(sql`${a.facilityOverheadWh}`)} as facility_overhead_wh, ${sumText(sql`${a.totalWh}`)} as total_wh,
			${sumText(sql`${a.cfeWh}`)} as cfe_wh, ${sumText(sql`${a.scope1Mg}`)} as scope1_mg,
			${sumText(sql`${a.scope2LocationMg}`)} as scope2_location_mg,
			${sumText(sql`${a.scope2MarketMg}`)} as scope2_market_mg, ${sumText(sql`${a.embodiedMg}`)} as embodied_mg,
			bool_and(${a.status} = 'final') as all_final, bool_or(${a.estimated}) as estimated,
			max(${a.methodologyVersion}) as methodology_version
		from ${a}
		left join ${zones} on ${zones.id} = ${a.zoneId}
		where ${a.tenantId} = ${tenantId} and ${a.hour} >= ${instant(from)} and ${a.hour} < ${instant(to)}
		group by ${period}${groupKeys}
		order by 1${groupBy === "resource" ? sql`, 2, 3` : groupBy === "zone" ? sql`, 5, 4` : sql``}`),
	);
}

export interface BalanceRow {
	hour: string;
	status: string;
	methodology_version: string | null;
	meter_wh: string;
	it_wh: string;
	facility_overhead_wh: string;
	metering_discrepancy_wh: string;
	pue: number | null;
	cfe_fraction: number | null;
	wind_wh: string | null;
	solar_wh: string | null;
	battery_wh: string | null;
	grid_wh: string | null;
	diesel_wh: string | null;
	grid_gco2e_per_kwh: number | null;
	rows_wh: string;
	tenants_wh: string;
	unallocated_idle_wh: string;
	unallocated_dynamic_wh: string;
	unattributed_facility_wh: string;
}

/** Every computed hour of the site over [from, to), with its rows summed by line. */
export async function siteBalance(db: Db, siteId: string, from: Date, to: Date): Promise<BalanceRow[]> {
	const h = energyHours;
	const r = energySiteReadings;
	const a = energyAttributions;
	const lineSum = (line: string) =>
		sql`coalesce(sum(${a.totalWh}) filter (where ${a.line} = ${line}), 0)::bigint::text`;
	return rowsOf<BalanceRow>(
		await db.execute(sql`
		select ${rfc3339(sql`${h.hour}`)} as hour, ${h.status} as status, ${h.methodologyVersion} as methodology_version,
			${h.meterWh}::text as meter_wh, ${h.itWh}::text as it_wh, ${h.facilityOverheadWh}::text as facility_overhead_wh,
			${h.meteringDiscrepancyWh}::text as metering_discrepancy_wh, ${h.pue} as pue, ${h.cfeFraction} as cfe_fraction,
			${r.windWh}::text as wind_wh, ${r.solarWh}::text as solar_wh, ${r.batteryWh}::text as battery_wh,
			${r.gridWh}::text as grid_wh, ${r.dieselWh}::text as diesel_wh, ${r.gridGco2ePerKwh} as grid_gco2e_per_kwh,
			coalesce(sum(${a.totalWh}), 0)::bigint::text as rows_wh,
			coalesce(sum(${a.totalWh}) filter (where ${a.tenantId} is not null), 0)::bigint::text as tenants_wh,
			${lineSum("unallocated_idle")} as unallocated_idle_wh,
			${lineSum("unallocated_dynamic")} as unallocated_dynamic_wh,
			${lineSum("unattributed_facility")} as unattributed_facility_wh
		from ${h}
		left join ${r} on ${r.siteId} = ${h.siteId} and ${r.hour} = ${h.hour}
		left join ${a} on ${a.siteId} = ${h.siteId} and ${a.hour} = ${h.hour}
		where ${h.siteId} = ${siteId} and ${h.hour} >= ${instant(from)} and ${h.hour} < ${instant(to)} and ${h.computedVersion} > 0
		group by ${h.siteId}, ${h.hour}, ${r.siteId}, ${r.hour}
		order by ${h.hour}`),
	);
}
