import type { Db } from "@igoudar/db";
import { type EnergyRowStatus, energyAttributions, energyHours, energySiteZones } from "@igoudar/db";
import { and, asc, eq, lte, ne, or, sql } from "drizzle-orm";
import type { AttributionRow, SiteHourAttribution } from "../domain/types";

type AttributionInsert = typeof energyAttributions.$inferInsert;

function toInsert(
	siteId: string,
	hour: Date,
	row: AttributionRow,
	status: EnergyRowStatus,
	snapshotIds: Set<string>,
): AttributionInsert {
	const common = {
		siteId,
		hour,
		zoneId: row.zoneId,
		dynamicWh: row.energyWh.dynamic,
		idleWh: row.energyWh.idle,
		facilityOverheadWh: row.energyWh.facilityOverhead,
		totalWh: row.energyWh.total,
		cfeWh: row.cfeWh,
		scope1Mg: row.co2eMg.scope1,
		scope2LocationMg: row.co2eMg.scope2Location,
		scope2MarketMg: row.co2eMg.scope2Market,
		embodiedMg: row.co2eMg.embodied,
		cfeFraction: row.cfeFraction,
		status,
		methodologyVersion: row.methodologyVersion,
		estimated: row.estimated,
	};
	switch (row.kind) {
		case "instance":
			return {
				...common,
				line: "tenant",
				tenantId: row.tenantId,
				resourceType: "instance",
				resourceId: row.resourceId,
				hostId: row.hostId,
			};
		case "volume":
			return {
				...common,
				line: "tenant",
				tenantId: row.tenantId,
				resourceType: snapshotIds.has(row.resourceId) ? "snapshot" : "volume",
				resourceId: row.resourceId,
				storageClass: row.storageClass,
			};
		case "operator":
			return { ...common, line: row.line, hostId: row.hostId };
	}
}

/**
 * Replaces the site-hour's rows with a new attribution and records the figures it was made from.
 * Only for hours that are not final (a trigger refuses to touch final rows anyway).
 */
export async function writeAttribution(
	db: Db,
	attribution: SiteHourAttribution,
	options: { siteId: string; hour: Date; version: number; final: boolean; snapshotIds: Set<string> },
): Promise<void> {
	const { siteId, hour } = options;
	const status: EnergyRowStatus = options.final ? "final" : "provisional";
	await db
		.delete(energyAttributions)
		.where(and(eq(energyAttributions.siteId, siteId), eq(energyAttributions.hour, hour)));
	const rows = attribution.rows.map((row) => toInsert(siteId, hour, row, status, options.snapshotIds));
	// A batch per few hundred rows keeps every statement well under the parameter limit.
	for (let start = 0; start < rows.length; start += 500) {
		await db.insert(energyAttributions).values(rows.slice(start, start + 500));
	}
	const { totals } = attribution;
	const now = new Date();
	await db
		.update(energyHours)
		.set({
			status,
			computedVersion: options.version,
			methodologyVersion: attribution.methodologyVersion,
			meterWh: totals.meterWh,
			itWh: totals.itWh,
			facilityOverheadWh: totals.facilityOverheadWh,
			meteringDiscrepancyWh: totals.meteringDiscrepancyWh,
			cfeWh: totals.cfeWh,
			pue: totals.pue,
			cfeFraction: totals.cfeFraction,
			computedAt: now,
			finalizedAt: options.final ? now : null,
			updatedAt: now,
		})
		.where(and(eq(energyHours.siteId, siteId), eq(energyHours.hour, hour)));
}

/** Freezes a computed hour as it stands: its rows and its status become final. */
export async function finalizeHour(db: Db, siteId: string, hour: Date): Promise<void> {
	const now = new Date();
	await db
		.update(energyAttributions)
		.set({ status: "final" })
		.where(
			and(
				eq(energyAttributions.siteId, siteId),
				eq(energyAttributions.hour, hour),
				eq(energyAttributions.status, "provisional"),
			),
		);
	await db
		.update(energyHours)
		.set({ status: "final", finalizedAt: now, updatedAt: now })
		.where(and(eq(energyHours.siteId, siteId), eq(energyHours.hour, hour)));
}

/**
 * Site-hours with work to do, oldest first: ended hours whose readings changed since they were
 * computed, and hours past their final window that are not final yet. Only a hint: the job
 * re-reads each under the hour's lock before acting.
 */
export async function dueHours(
	db: Db,
	endedBefore: Date,
	finalBefore: Date,
	limit: number,
): Promise<{ siteId: string; hour: Date }[]> {
	return db
		.select({ siteId: energyHours.siteId, hour: energyHours.hour })
		.from(energyHours)
		.where(
			and(
				ne(energyHours.status, "final"),
				lte(energyHours.hour, endedBefore),
				or(sql`${energyHours.computedVersion} < ${energyHours.readingsVersion}`, lte(energyHours.hour, finalBefore)),
			),
		)
		.orderBy(asc(energyHours.hour), asc(energyHours.siteId))
		.limit(limit);
}

export async function siteZoneIds(db: Db, siteId: string): Promise<string[]> {
	const rows = await db
		.select({ zoneId: energySiteZones.zoneId })
		.from(energySiteZones)
		.where(eq(energySiteZones.siteId, siteId));
	return rows.map((row) => row.zoneId);
}
