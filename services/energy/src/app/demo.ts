import type { Db } from "@igoudar/db";
import type { Logger } from "pino";
import { ensureDemoSite, readHours } from "../db/demo";
import { methodologyForHour } from "../domain/methodology";
import type { EnergySettings } from "../settings";
import { attributeDueHours } from "./attribution";
import { demoActivity, demoGridFactor, demoPue, demoSupply } from "./demo-supply";
import { HOUR_MS, hourStartOf } from "./hours";
import { loadHostHours } from "./inputs";
import { type ReadingItem, storeReadings } from "./readings";

/** Hours the demo fills in behind it: a day, so the reports have a day to show at once. */
export const DEMO_HOURS = 24;

/**
 * The readings of one demo hour. Each host reads what its power profile gives for its instances'
 * running vCPUs that hour (what the simulated driver runs), at the hour's activity; the site meter
 * adds the hour's facility overhead; the supply follows a Dakhla day.
 */
async function demoReading(db: Db, siteId: string, hour: Date): Promise<ReadingItem> {
	const hosts = await loadHostHours(db, siteId, hour, new Map());
	const fallback = methodologyForHour(hour.toISOString()).defaultHostPower;
	const readings = hosts.map((host) => {
		const idle = host.powerIdleW ?? fallback.idleW;
		const max = host.powerMaxW ?? fallback.maxW;
		return { host: host.hostId, wh: Math.round(idle + (max - idle) * host.utilisation * demoActivity(hour)) };
	});
	const itWh = readings.reduce((sum, reading) => sum + reading.wh, 0);
	const siteWh = Math.round(itWh * demoPue(hour));
	return {
		hour: hour.toISOString(),
		site_wh: siteWh,
		hosts: readings,
		supply_wh: demoSupply(hour, siteWh),
		grid_gco2e_per_kwh: demoGridFactor(hour),
	};
}

/**
 * One pass of the demo: the site made (or found), a reading for every ended hour of the last day
 * that has none, and the hours attributed, so the reports show them at once. Safe on every
 * worker at once: readings are idempotent per hour, attribution per site-hour.
 */
export async function feedDemoSite(
	db: Db,
	settings: Pick<EnergySettings, "finalAfterHours">,
	logger?: Logger,
	now = new Date(),
): Promise<{ siteId: string; posted: number }> {
	const siteId = await ensureDemoSite(db);
	const current = hourStartOf(now);
	const hours = Array.from({ length: DEMO_HOURS }, (_, back) => new Date(current.getTime() - (back + 1) * HOUR_MS))
		// Hours already final would be refused: the window may be shorter than a day.
		.filter((hour) => hour.getTime() + HOUR_MS + settings.finalAfterHours * HOUR_MS > now.getTime());
	const done = await readHours(db, siteId, new Date(current.getTime() - DEMO_HOURS * HOUR_MS));
	const missing = hours.filter((hour) => !done.has(hour.getTime())).reverse();
	const items: ReadingItem[] = [];
	for (const hour of missing) items.push(await demoReading(db, siteId, hour));
	if (items.length > 0) await db.transaction((tx) => storeReadings(tx, siteId, items, settings, now));
	await attributeDueHours(db, settings, logger, now);
	if (items.length > 0) logger?.info({ siteId, hours: items.length }, "fed the demo site its readings");
	return { siteId, posted: items.length };
}
