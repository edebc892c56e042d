import { DRIFT_KINDS, estimatedPower } from "@igoudar/compute";
import { type Db, hosts, operations, outbox, zones } from "@igoudar/db";
import { latestConsistencyCheck } from "@igoudar/provisioner";
import { eq, inArray, isNull, sql } from "drizzle-orm";
import { Gauge, type Registry } from "prom-client";

/**
 * Platform gauges read from the database at scrape time: how much work is waiting, and where the
 * energy goes. Every replica reports the same values (they come from the shared database), so
 * dashboards should take max() rather than sum() across replicas.
 */
export function registerPlatformMetrics(registry: Registry, db: Db): void {
	new Gauge({
		name: "igoudar_operations_open",
		help: "Operations not yet finished, by status.",
		labelNames: ["status"],
		registers: [registry],
		async collect() {
			const rows = await db
				.select({ status: operations.status, n: sql<number>`count(*)::int` })
				.from(operations)
				.where(inArray(operations.status, ["pending", "running"]))
				.groupBy(operations.status);
			this.reset();
			for (const status of ["pending", "running"]) {
				this.set({ status }, rows.find((r) => r.status === status)?.n ?? 0);
			}
		},
	});

	new Gauge({
		name: "igoudar_outbox_backlog",
		help: "Outbox rows not yet moved into the queue.",
		registers: [registry],
		async collect() {
			const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(isNull(outbox.relayedAt));
			this.set(row?.n ?? 0);
		},
	});

	new Gauge({
		name: "igoudar_outbox_oldest_age_seconds",
		help: "Age of the oldest outbox row not yet relayed (0 when none): relay lag.",
		registers: [registry],
		async collect() {
			const [row] = await db
				.select({ age: sql<number>`coalesce(extract(epoch from now() - min(${outbox.createdAt})), 0)::float8` })
				.from(outbox)
				.where(isNull(outbox.relayedAt));
			this.set(row?.age ?? 0);
		},
	});

	// Not read at scrape time like the others: the audit is the periodic check's work. Only the
	// worker that ran the latest check exports it, so sum() and max() across replicas agree.
	new Gauge({
		name: "igoudar_consistency_drift",
		help: "Drift between the counters and the live resources found by the latest periodic check, by kind.",
		labelNames: ["kind"],
		registers: [registry],
		collect() {
			this.reset();
			const latest = latestConsistencyCheck();
			if (!latest) return;
			for (const kind of DRIFT_KINDS) this.set({ kind }, latest.counts[kind]);
		},
	});

	new Gauge({
		name: "igoudar_zone_estimated_power_watts",
		help: "Estimated draw of the enabled hosts of each zone, from their power profiles and allocation.",
		labelNames: ["zone", "jurisdiction"],
		registers: [registry],
		async collect() {
			const rows = await db
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
				.where(eq(hosts.status, "enabled"));
			this.reset();
			const totals = new Map<string, { jurisdiction: string; watts: number }>();
			for (const row of rows) {
				const watts = estimatedPower(row) ?? 0;
				const total = totals.get(row.zone) ?? { jurisdiction: row.jurisdiction, watts: 0 };
				total.watts += watts;
				totals.set(row.zone, total);
			}
			for (const [zone, { jurisdiction, watts }] of totals) this.set({ zone, jurisdiction }, watts);
		},
	});
}
