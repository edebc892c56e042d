import type { Db } from "@igoudar/db";
import { type EnergyHourStatus, energyHostReadings, energyHours, energySiteReadings } from "@igoudar/db";
import { and, eq, sql } from "drizzle-orm";

export interface SiteReadingValues {
	siteId: string;
	hour: Date;
	siteWh: number;
	windWh: number;
	solarWh: number;
	batteryWh: number;
	gridWh: number;
	dieselWh: number;
	gridGco2ePerKwh: number;
}

/**
 * Takes the site-hour's row (made on first use) and locks it for the transaction. Readings and
 * the attribution job both lock it first, so a reading cannot land between a computation and its
 * commit, and two workers never compute one hour at once.
 */
export async function lockHour(
	db: Db,
	siteId: string,
	hour: Date,
): Promise<{ status: EnergyHourStatus; readingsVersion: number; computedVersion: number }> {
	await db.insert(energyHours).values({ siteId, hour, readingsVersion: 0 }).onConflictDoNothing();
	const [row] = await db
		.select({
			status: energyHours.status,
			readingsVersion: energyHours.readingsVersion,
			computedVersion: energyHours.computedVersion,
		})
		.from(energyHours)
		.where(and(eq(energyHours.siteId, siteId), eq(energyHours.hour, hour)))
		.for("update");
	if (!row) throw new Error("energy hour row vanished under its lock");
	return row;
}

/** Marks the hour's readings changed, so the job computes it (again). */
export async function bumpReadingsVersion(db: Db, siteId: string, hour: Date): Promise<void> {
	await db
		.update(energyHours)
		.set({ readingsVersion: sql`${energyHours.readingsVersion} + 1`, updatedAt: new Date() })
		.where(and(eq(energyHours.siteId, siteId), eq(energyHours.hour, hour)));
}

/** Stores the site meter's reading of the hour; true when it is new or differs from the one stored. */
export async function upsertSiteReading(db: Db, values: SiteReadingValues): Promise<boolean> {
	const t = energySiteReadings;
	const changed = await db
		.insert(t)
		.values(values)
		.onConflictDoUpdate({
			target: [t.siteId, t.hour],
			set: {
				siteWh: sql`excluded.site_wh`,
				windWh: sql`excluded.wind_wh`,
				solarWh: sql`excluded.solar_wh`,
				batteryWh: sql`excluded.battery_wh`,
				gridWh: sql`excluded.grid_wh`,
				dieselWh: sql`excluded.diesel_wh`,
				gridGco2ePerKwh: sql`excluded.grid_gco2e_per_kwh`,
				updatedAt: new Date(),
			},
			// A repeat of the same reading changes nothing, so it triggers no recomputation.
			setWhere: sql`(${t.siteWh}, ${t.windWh}, ${t.solarWh}, ${t.batteryWh}, ${t.gridWh}, ${t.dieselWh}, ${t.gridGco2ePerKwh})
				is distinct from (excluded.site_wh, excluded.wind_wh, excluded.solar_wh, excluded.battery_wh, excluded.grid_wh, excluded.diesel_wh, excluded.grid_gco2e_per_kwh)`,
		})
		.returning({ siteId: t.siteId });
	return changed.length > 0;
}

/** Stores one host's reading of the hour; true when it is new or differs from the one stored. */
export async function upsertHostReading(
	db: Db,
	values: { hostId: string; hour: Date; siteId: string; wh: number },
): Promise<boolean> {
	const t = energyHostReadings;
	const changed = await db
		.insert(t)
		.values(values)
		.onConflictDoUpdate({
			target: [t.hostId, t.hour],
			set: { wh: sql`excluded.wh`, siteId: sql`excluded.site_id`, updatedAt: new Date() },
			setWhere: sql`(${t.wh}, ${t.siteId}) is distinct from (excluded.wh, excluded.site_id)`,
		})
		.returning({ hostId: t.hostId });
	return changed.length > 0;
}

export type SiteReadingRow = typeof energySiteReadings.$inferSelect;

export async function findSiteReading(db: Db, siteId: string, hour: Date): Promise<SiteReadingRow | undefined> {
	const [row] = await db
		.select()
		.from(energySiteReadings)
		.where(and(eq(energySiteReadings.siteId, siteId), eq(energySiteReadings.hour, hour)));
	return row;
}

/** Host id -> Wh of every host reading of the site-hour. */
export async function hostReadingsOf(db: Db, siteId: string, hour: Date): Promise<Map<string, number>> {
	const rows = await db
		.select({ hostId: energyHostReadings.hostId, wh: energyHostReadings.wh })
		.from(energyHostReadings)
		.where(and(eq(energyHostReadings.siteId, siteId), eq(energyHostReadings.hour, hour)));
	return new Map(rows.map((row) => [row.hostId, row.wh]));
}
