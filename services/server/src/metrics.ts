import { estimatedPower } from "@igoudar/compute";
import { type Db, hosts, operations, outbox, zones } from "@igoudar/db";
import { latestEnergyFigures } from "@igoudar/energy";
import { latestConsistencyCheck } from "@igoudar/provisioner";
import { readPoolUsage } from "@igoudar/storage";
import { eq, inArray, isNull, sql } from "drizzle-orm";
import { Gauge, type Registry } from "prom-client";

export interface PlatformGauges {
	/** Reads the platform's state from the database into the gauges; scrapes only read memory. */
	refresh(): Promise<void>;
}

/**
 * Platform gauges: how much work is waiting, and where the energy goes. They are read from the
 * database on a timer (`refresh`), never at scrape time, so a scrape costs no query however often
 * it comes, and a scrape during a database outage still answers (with the last values and their
 * age). Every replica reports the same values (they come from the shared database), so dashboards
 * should take max() rather than sum() across replicas.
 */
export function registerPlatformMetrics(registry: Registry, db: Db): PlatformGauges {
	const open = new Gauge({
		name: "igoudar_operations_open",
		help: "Operations not yet finished, by status.",
		labelNames: ["status"],
		registers: [registry],
	});
	const backlog = new Gauge({
		name: "igoudar_outbox_backlog",
		help: "Outbox rows not yet moved into the queue.",
		registers: [registry],
	});
	const oldest = new Gauge({
		name: "igoudar_outbox_oldest_age_seconds",
		help: "Age of the oldest outbox row not yet relayed (0 when none): relay lag.",
		registers: [registry],
	});
	const power = new Gauge({
		name: "igoudar_zone_estimated_power_watts",
		help: "Estimated draw of the enabled hosts of each zone, from their power profiles and allocation.",
		labelNames: ["zone", "jurisdiction"],
		registers: [registry],
	});
	const poolLabels = ["pool", "zone", "storage_class"];
	const poolAllocated = new Gauge({
		name: "igoudar_storage_pool_allocated_gib",
		help: "GiB held on each storage pool by its live volumes and snapshots.",
		labelNames: poolLabels,
		registers: [registry],
	});
	const poolFree = new Gauge({
		name: "igoudar_storage_pool_free_gib",
		help: "GiB that may still be allocated on each storage pool, after its overcommit ratio.",
		labelNames: poolLabels,
		registers: [registry],
	});
	const siteEnergy = energyGauges(registry);
	const refreshedAt = new Gauge({
		name: "igoudar_platform_gauges_refreshed_seconds",
		help: "When the database-backed gauges were last read (Unix time): alert when it falls behind.",
		registers: [registry],
	});

	// Not read from the database at all: the audit is the periodic check's work. Only the worker
	// that ran the latest check exports it, so sum() and max() across replicas agree.
	new Gauge({
		name: "igoudar_consistency_drift",
		help: "Drift between the counters and the live resources found by the latest periodic check, by kind.",
		labelNames: ["kind"],
		registers: [registry],
		collect() {
			this.reset();
			const latest = latestConsistencyCheck();
			if (!latest) return;
			// Every kind the check's checkers report (compute's and storage's) is in its counts.
			for (const [kind, count] of Object.entries(latest.counts)) this.set({ kind }, count);
		},
	});

	return {
		async refresh() {
			// Read everything first and set the gauges after: a failed read leaves the last good values.
			const [openRows, backlogRows, oldestRows, powerRows, poolRows, energyFigures] = await Promise.all([
				db
					.select({ status: operations.status, n: sql<number>`count(*)::int` })
					.from(operations)
					.where(inArray(operations.status, ["pending", "running"]))
					.groupBy(operations.status),
				db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(isNull(outbox.relayedAt)),
				db
					.select({ age: sql<number>`coalesce(extract(epoch from now() - min(${outbox.createdAt})), 0)::float8` })
					.from(outbox)
					.where(isNull(outbox.relayedAt)),
				db
					.select({
						zone: zones.name,
						jurisdiction: zones.jurisdiction,
						powerIdleW: hosts.powerIdleW,
						powerMaxW: hosts.powerMaxW,
						vcpus: hosts.vcpus,
						vcpusUsed: hosts.vcpusUsed,
					})
					.from(hosts)
					.innerJoin(zones, eq(zones.id, hosts.zoneId))
					.where(eq(hosts.status, "enabled")),
				readPoolUsage(db),
				latestEnergyFigures(db),
			]);
			for (const status of ["pending", "running"]) {
				open.set({ status }, openRows.find((r) => r.status === status)?.n ?? 0);
			}
			backlog.set(backlogRows[0]?.n ?? 0);
			oldest.set(oldestRows[0]?.age ?? 0);
			const totals = new Map<string, { jurisdiction: string; watts: number }>();
			for (const row of powerRows) {
				const total = totals.get(row.zone) ?? { jurisdiction: row.jurisdiction, watts: 0 };
				total.watts += estimatedPower(row) ?? 0;
				totals.set(row.zone, total);
			}
			power.reset();
			for (const [zone, { jurisdiction, watts }] of totals) power.set({ zone, jurisdiction }, watts);
			// Reset first: a deleted pool's series must not linger with its last values.
			poolAllocated.reset();
			poolFree.reset();
			for (const row of poolRows) {
				const labels = { pool: row.pool, zone: row.zone, storage_class: row.storageClass };
				poolAllocated.set(labels, row.allocatedGib);
				poolFree.set(labels, row.freeGib);
			}
			siteEnergy.set(energyFigures);
			refreshedAt.set(Date.now() / 1000);
		},
	};
}

/**
 * The energy ledger's latest computed hour per site: the meter, PUE and carbon-free share of the
 * site, and the energy and carbon of each zone in that hour. An hour's figures, not a rate: they
 * change when the next hour is computed (or a late reading corrects this one).
 */
function energyGauges(registry: Registry) {
	const gauge = (name: string, help: string, labelNames: string[]) =>
		new Gauge({ name, help, labelNames, registers: [registry] });
	const hour = gauge("igoudar_site_energy_hour_seconds", "Start of the latest computed hour (Unix time).", ["site"]);
	const meter = gauge("igoudar_site_energy_wh", "The site meter over its latest computed hour, Wh.", ["site"]);
	const pue = gauge("igoudar_site_pue", "Measured PUE of the site's latest computed hour.", ["site"]);
	const cfe = gauge(
		"igoudar_site_cfe_fraction",
		"Carbon-free share of the site's supply in its latest computed hour.",
		["site"],
	);
	const zoneEnergy = gauge(
		"igoudar_zone_energy_wh",
		"Energy attributed to each zone in its site's latest computed hour, Wh.",
		["site", "zone"],
	);
	const zoneCarbon = gauge(
		"igoudar_zone_co2e_grams",
		"Carbon of each zone in its site's latest computed hour, g CO2e, by scope.",
		["site", "zone", "scope"],
	);
	return {
		set(figures: Awaited<ReturnType<typeof latestEnergyFigures>>) {
			for (const g of [hour, meter, pue, cfe, zoneEnergy, zoneCarbon]) g.reset();
			for (const site of figures) {
				hour.set({ site: site.site }, site.hourSeconds);
				meter.set({ site: site.site }, site.meterWh);
				if (site.pue !== null) pue.set({ site: site.site }, site.pue);
				cfe.set({ site: site.site }, site.cfeFraction);
				for (const zone of site.zones) {
					zoneEnergy.set({ site: site.site, zone: zone.zone }, zone.wh);
					const scopes = {
						scope1: zone.co2eMg.scope1,
						scope2_location: zone.co2eMg.scope2Location,
						scope2_market: zone.co2eMg.scope2Market,
						embodied: zone.co2eMg.embodied,
					};
					for (const [scope, mg] of Object.entries(scopes)) {
						zoneCarbon.set({ site: site.site, zone: zone.zone, scope }, mg / 1000);
					}
				}
			}
		},
	};
}
