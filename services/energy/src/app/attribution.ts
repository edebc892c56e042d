import type { Db } from "@igoudar/db";
import type { Logger } from "pino";
import { dueHours, finalizeHour, siteZoneIds, writeAttribution } from "../db/ledger";
import { findSiteReading, lockHour } from "../db/readings";
import { attributeHour } from "../domain/attribute";
import { methodologyForHour } from "../domain/methodology";
import type { EnergySettings } from "../settings";
import { HOUR_MS, isFinalByAge } from "./hours";
import { loadSiteHour } from "./inputs";

export type HourOutcome = "computed" | "finalized" | "unchanged";

/**
 * Brings one site-hour up to date, in one transaction under the hour's row lock: computes it if
 * its readings changed since, and freezes it once its final window has passed. Idempotent, and
 * safe with any number of workers: one waits for the other's lock, then finds nothing to do.
 * A final hour is never touched again.
 */
export async function settleSiteHour(
	db: Db,
	siteId: string,
	hour: Date,
	settings: Pick<EnergySettings, "finalAfterHours">,
	now = new Date(),
): Promise<HourOutcome> {
	return db.transaction(async (tx) => {
		const state = await lockHour(tx, siteId, hour);
		if (state.status === "final" || hour.getTime() + HOUR_MS > now.getTime()) return "unchanged";
		const final = isFinalByAge(hour, now, settings.finalAfterHours);
		if (state.computedVersion < state.readingsVersion) {
			const reading = await findSiteReading(tx, siteId, hour);
			// Every batch item carries the site meter, so a changed hour always has one.
			if (!reading) return "unchanged";
			const loaded = await loadSiteHour(tx, siteId, await siteZoneIds(tx, siteId), hour, reading);
			const attribution = attributeHour(loaded.input, methodologyForHour(loaded.input.hour));
			await writeAttribution(tx, attribution, {
				siteId,
				hour,
				version: state.readingsVersion,
				final,
				snapshotIds: loaded.snapshotIds,
			});
			return final ? "finalized" : "computed";
		}
		if (final) {
			await finalizeHour(tx, siteId, hour);
			return "finalized";
		}
		return "unchanged";
	});
}

export interface AttributionPass {
	computed: number;
	finalized: number;
	/** More hours were due than one pass takes: run again at once. */
	more: boolean;
}

const PASS_LIMIT = 200;

/** One pass of the repeatable job: every site-hour with work to do, oldest first. */
export async function attributeDueHours(
	db: Db,
	settings: Pick<EnergySettings, "finalAfterHours">,
	logger?: Logger,
	now = new Date(),
): Promise<AttributionPass> {
	const endedBefore = new Date(now.getTime() - HOUR_MS);
	const finalBefore = new Date(endedBefore.getTime() - settings.finalAfterHours * HOUR_MS);
	const due = await dueHours(db, endedBefore, finalBefore, PASS_LIMIT);
	const pass: AttributionPass = { computed: 0, finalized: 0, more: due.length === PASS_LIMIT };
	for (const { siteId, hour } of due) {
		try {
			const outcome = await settleSiteHour(db, siteId, hour, settings, now);
			if (outcome === "computed") pass.computed++;
			if (outcome === "finalized") pass.finalized++;
		} catch (error) {
			// One hour that cannot be computed must not hold back every hour after it.
			if (!logger) throw error;
			logger.error({ err: error, siteId, hour: hour.toISOString() }, "energy hour could not be attributed");
		}
	}
	if (pass.computed + pass.finalized > 0) logger?.info(pass, "energy hours attributed");
	return pass;
}
