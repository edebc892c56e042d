import type { Db } from "@igoudar/db";
import { energyAttributions } from "@igoudar/db";
import { sql } from "drizzle-orm";
import type { Footprint } from "../domain/footprint";
import type { EnergyHour } from "../domain/metering";
import { atMicros, rowsOf } from "./usage";

/**
 * Billing reads the energy ledger the energy service writes: a tenant's rows whose hour starts
 * in a window, provisional and final alike (a provisional hour that changes later reaches the
 * next invoice as an adjustment, like any late usage). Sums are taken as text so no float
 * carries them.
 */

const inWindow = (tenantId: string, fromMicros: bigint, toMicros: bigint) =>
	sql`${energyAttributions.tenantId} = ${tenantId} and ${energyAttributions.hour} >= ${atMicros(fromMicros)} and ${energyAttributions.hour} < ${atMicros(toMicros)}`;

/** The tenant's attributed Wh per hour, hours with rows only, earliest first. */
export async function loadEnergyHours(
	db: Db,
	tenantId: string,
	fromMicros: bigint,
	toMicros: bigint,
): Promise<EnergyHour[]> {
	const rows = rowsOf<{ hour_micros: string; wh: string }>(
		await db.execute(sql`
		select ((extract(epoch from ${energyAttributions.hour}) * 1000000)::bigint)::text as hour_micros,
			sum(${energyAttributions.totalWh})::text as wh
		from ${energyAttributions}
		where ${inWindow(tenantId, fromMicros, toMicros)}
		group by ${energyAttributions.hour}
		order by ${energyAttributions.hour}`),
	);
	return rows.map((row) => ({ hourMicros: BigInt(row.hour_micros), wh: BigInt(row.wh) }));
}

/** Each of the tenant's resources' attributed Wh in the window. */
export async function loadEnergyByResource(
	db: Db,
	tenantId: string,
	fromMicros: bigint,
	toMicros: bigint,
): Promise<Map<string, bigint>> {
	const rows = rowsOf<{ resource_id: string; wh: string }>(
		await db.execute(sql`
		select ${energyAttributions.resourceId} as resource_id, sum(${energyAttributions.totalWh})::text as wh
		from ${energyAttributions}
		where ${inWindow(tenantId, fromMicros, toMicros)} and ${energyAttributions.resourceId} is not null
		group by ${energyAttributions.resourceId}`),
	);
	return new Map(rows.map((row) => [row.resource_id, BigInt(row.wh)]));
}

/** The tenant's energy and carbon totals in the window (zeros when it has no rows). */
export async function loadFootprint(
	db: Db,
	tenantId: string,
	fromMicros: bigint,
	toMicros: bigint,
): Promise<Footprint> {
	const [row] = rowsOf<Record<"wh" | "scope1" | "scope2_location" | "scope2_market" | "embodied", string>>(
		await db.execute(sql`
		select coalesce(sum(${energyAttributions.totalWh}), 0)::text as wh,
			coalesce(sum(${energyAttributions.scope1Mg}), 0)::text as scope1,
			coalesce(sum(${energyAttributions.scope2LocationMg}), 0)::text as scope2_location,
			coalesce(sum(${energyAttributions.scope2MarketMg}), 0)::text as scope2_market,
			coalesce(sum(${energyAttributions.embodiedMg}), 0)::text as embodied
		from ${energyAttributions}
		where ${inWindow(tenantId, fromMicros, toMicros)}`),
	);
	return {
		wh: BigInt(row?.wh ?? 0),
		scope1Mg: BigInt(row?.scope1 ?? 0),
		scope2LocationMg: BigInt(row?.scope2_location ?? 0),
		scope2MarketMg: BigInt(row?.scope2_market ?? 0),
		embodiedMg: BigInt(row?.embodied ?? 0),
	};
}
