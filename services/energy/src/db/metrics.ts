import type { Db } from "@igoudar/db";
import { energyAttributions, energyHours, energySites, zones } from "@igoudar/db";
import { sql } from "drizzle-orm";
import { rowsOf } from "./sql";

export interface SiteFigures {
	site: string;
	/** Start of the latest computed hour (Unix seconds). */
	hourSeconds: number;
	meterWh: number;
	pue: number | null;
	cfeFraction: number;
	zones: {
		zone: string;
		wh: number;
		co2eMg: { scope1: number; scope2Location: number; scope2Market: number; embodied: number };
	}[];
}

/**
 * Each site's latest computed hour, with what each zone drew and emitted in it: what the
 * /metrics gauges show. One query per site and one for the zones' rows of those hours.
 */
export async function latestEnergyFigures(db: Db): Promise<SiteFigures[]> {
	const h = energyHours;
	const sites = rowsOf<{
		site_id: string;
		site: string;
		hour_seconds: number;
		meter_wh: string;
		pue: number | null;
		cfe_fraction: number | null;
	}>(
		await db.execute(sql`
		select distinct on (${h.siteId}) ${h.siteId} as site_id, ${energySites.name} as site,
			extract(epoch from ${h.hour})::float8 as hour_seconds, ${h.meterWh}::text as meter_wh, ${h.pue} as pue,
			${h.cfeFraction} as cfe_fraction
		from ${h} join ${energySites} on ${energySites.id} = ${h.siteId}
		where ${h.computedVersion} > 0
		order by ${h.siteId}, ${h.hour} desc`),
	);
	const figures: SiteFigures[] = [];
	for (const site of sites) {
		const a = energyAttributions;
		const zoneRows = rowsOf<{
			zone: string;
			wh: string;
			scope1: string;
			scope2_location: string;
			scope2_market: string;
			embodied: string;
		}>(
			await db.execute(sql`
			select coalesce(${zones.name}, 'none') as zone, sum(${a.totalWh})::bigint::text as wh,
				sum(${a.scope1Mg})::bigint::text as scope1, sum(${a.scope2LocationMg})::bigint::text as scope2_location,
				sum(${a.scope2MarketMg})::bigint::text as scope2_market, sum(${a.embodiedMg})::bigint::text as embodied
			from ${a} left join ${zones} on ${zones.id} = ${a.zoneId}
			where ${a.siteId} = ${site.site_id} and ${a.hour} = to_timestamp(${site.hour_seconds})
			group by 1`),
		);
		figures.push({
			site: site.site,
			hourSeconds: site.hour_seconds,
			meterWh: Number(site.meter_wh),
			pue: site.pue,
			cfeFraction: site.cfe_fraction ?? 0,
			zones: zoneRows.map((row) => ({
				zone: row.zone,
				wh: Number(row.wh),
				co2eMg: {
					scope1: Number(row.scope1),
					scope2Location: Number(row.scope2_location),
					scope2Market: Number(row.scope2_market),
					embodied: Number(row.embodied),
				},
			})),
		});
	}
	return figures;
}
