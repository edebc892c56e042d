import type { Db } from "@igoudar/db";
import {
	type Ctx,
	idempotentResult,
	ProblemError,
	type ProblemFieldError,
	problems,
	recordAudit,
	withDb,
} from "@igoudar/kit";
import { bumpReadingsVersion, lockHour, upsertHostReading, upsertSiteReading } from "../db/readings";
import { findSite, findSiteHosts } from "../db/sites";
import type { SupplyWh } from "../domain/types";
import type { EnergySettings } from "../settings";
import { HOUR_MS, hourHasEnded, isFinalByAge } from "./hours";

export interface ReadingItem {
	/** Start of the hour, RFC 3339, on the hour (UTC). */
	hour: string;
	site_wh: number;
	/** Hosts by name or id; a host of the site missing here is estimated from its power profile. */
	hosts?: { host: string; wh: number }[];
	supply_wh: SupplyWh;
	grid_gco2e_per_kwh: number;
}

export interface ReadingsResult {
	items: { hour: string; changed: boolean }[];
}

const invalid = (detail: string, errors: ProblemFieldError[]) => problems.validation(detail, errors);

/** Checks what can be checked without the database: hours on the hour, ended, each once. */
function checkHours(items: ReadingItem[], now: Date): Date[] {
	const errors: ProblemFieldError[] = [];
	const seen = new Set<number>();
	const hours = items.map((item, index) => {
		const hour = new Date(item.hour);
		const field = `body/items/${index}/hour`;
		if (hour.getTime() % HOUR_MS !== 0) errors.push({ field, message: "must be on the hour (UTC)" });
		else if (!hourHasEnded(hour, now)) errors.push({ field, message: "the hour has not ended yet" });
		else if (seen.has(hour.getTime())) errors.push({ field, message: "the same hour is given twice" });
		seen.add(hour.getTime());
		const hostRefs = new Set<string>();
		for (const [hostIndex, host] of (item.hosts ?? []).entries()) {
			if (hostRefs.has(host.host)) {
				errors.push({ field: `body/items/${index}/hosts/${hostIndex}/host`, message: "the same host is given twice" });
			}
			hostRefs.add(host.host);
		}
		return hour;
	});
	if (errors.length > 0) throw invalid("Some readings cannot be accepted.", errors);
	return hours;
}

/**
 * Stores a batch of readings of one site, all or nothing, in the caller's transaction. Each
 * (meter, hour) holds one value: a repeat changes nothing, a different value replaces the old one
 * and has the hour computed again. Hours that are final refuse the whole batch with 409.
 */
export async function storeReadings(
	tx: Db,
	siteId: string,
	items: ReadingItem[],
	settings: Pick<EnergySettings, "finalAfterHours">,
	now = new Date(),
): Promise<ReadingsResult> {
	const hours = checkHours(items, now);
	const refs = [...new Set(items.flatMap((item) => (item.hosts ?? []).map((host) => host.host)))];
	const siteHosts = await findSiteHosts(tx, siteId, refs);
	const hostIdOf = (ref: string) => siteHosts.find((host) => host.id === ref || host.name === ref)?.id;
	const unknown: ProblemFieldError[] = [];
	for (const [index, item] of items.entries()) {
		for (const [hostIndex, host] of (item.hosts ?? []).entries()) {
			if (!hostIdOf(host.host)) {
				unknown.push({
					field: `body/items/${index}/hosts/${hostIndex}/host`,
					message: "no such host in the site's zones",
				});
			}
		}
	}
	if (unknown.length > 0) throw invalid("Some hosts are not hosts of this site.", unknown);

	// Hours are locked in time order, so two batches sharing hours cannot deadlock.
	const order = items
		.map((_, index) => index)
		.sort((a, b) => (hours[a] as Date).getTime() - (hours[b] as Date).getTime());
	const final: ProblemFieldError[] = [];
	const results: ReadingsResult["items"] = [];
	for (const index of order) {
		const item = items[index] as ReadingItem;
		const hour = hours[index] as Date;
		const state = await lockHour(tx, siteId, hour);
		if (state.status === "final" || isFinalByAge(hour, now, settings.finalAfterHours)) {
			final.push({ field: `body/items/${index}/hour`, message: `the hour ${hour.toISOString()} is final` });
			continue;
		}
		let changed = await upsertSiteReading(tx, {
			siteId,
			hour,
			siteWh: item.site_wh,
			windWh: item.supply_wh.wind,
			solarWh: item.supply_wh.solar,
			batteryWh: item.supply_wh.battery,
			gridWh: item.supply_wh.grid,
			dieselWh: item.supply_wh.diesel,
			gridGco2ePerKwh: item.grid_gco2e_per_kwh,
		});
		for (const host of item.hosts ?? []) {
			const hostId = hostIdOf(host.host) as string;
			if (await upsertHostReading(tx, { hostId, hour, siteId, wh: host.wh })) changed = true;
		}
		if (changed) await bumpReadingsVersion(tx, siteId, hour);
		results[index] = { hour: hour.toISOString(), changed };
	}
	if (final.length > 0) {
		throw new ProblemError(
			"invalid_state",
			`Readings of a final hour cannot change (hours are final ${settings.finalAfterHours} h after they end).`,
			{ errors: final },
		);
	}
	return { items: results };
}

export async function readingsPost(
	ctx: Ctx,
	siteId: string,
	input: { items: ReadingItem[] },
	settings: EnergySettings,
): Promise<ReadingsResult> {
	return ctx.db.transaction(async (tx) => {
		if (!(await findSite(tx, siteId))) throw problems.notFound("site");
		const result = await storeReadings(tx, siteId, input.items, settings);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "site.readings",
			targetType: "site",
			targetId: siteId,
			detail: {
				hours: result.items.map((item) => item.hour),
				changed: result.items.filter((item) => item.changed).length,
			},
		});
		return idempotentResult(withDb(ctx, tx), 200, result);
	});
}
