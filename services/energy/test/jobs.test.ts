import { energyAttributions, energyHours } from "@igoudar/db";
import { redisConnectionFactory, startWorkers, type WorkerRunner } from "@igoudar/jobs";
import { silentLogger, waitFor } from "@igoudar/jobs/testing";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { energyAttributionHandler, energyJobs, scheduleEnergyAttribution, settleSiteHour } from "../src/index";
import { EnergyHarness, hourAgo, reading } from "./support";

/** The workers' repeatable job, and two workers computing the same hours at once. */

let h: EnergyHarness;
let site: { id: string };
let host: { id: string; name: string };
const runners: WorkerRunner[] = [];

beforeAll(async () => {
	h = await EnergyHarness.start();
	const zone = await h.zone();
	host = await h.host(zone.id);
	site = await h.site([zone.name]);
	const tenant = await h.t.createTenant();
	await h.instance(tenant.id, host, zone.id, hourAgo(20));
}, 60_000);
afterAll(async () => {
	await Promise.all(runners.map((runner) => runner.close()));
	await h?.close();
});

async function rowCount(hour: Date): Promise<number> {
	const rows = await h.db
		.select({ id: energyAttributions.id })
		.from(energyAttributions)
		.where(and(eq(energyAttributions.siteId, site.id), eq(energyAttributions.hour, hour)));
	return rows.length;
}

describe("attribution job", () => {
	it("runs on its schedule in two worker runners and computes every hour with readings", async () => {
		const options = {
			catalog: energyJobs,
			handlers: { "energy.attribute": energyAttributionHandler(h.db, h.settings) },
			connection: redisConnectionFactory(h.t.config.redisUrl),
			prefix: h.t.config.redisPrefix,
			logger: silentLogger(),
		};
		runners.push(await startWorkers(options), await startWorkers(options));
		const hours = [hourAgo(6), hourAgo(5), hourAgo(4)];
		await h.postReadings(
			site.id,
			hours.map((hour) => reading(hour, 900, { [host.name]: 300 })),
		);
		// Registered by every worker at start; the scheduler id makes it one schedule.
		for (let i = 0; i < 2; i++) {
			await scheduleEnergyAttribution({
				connection: options.connection,
				prefix: options.prefix,
				intervalMs: 1_000,
				logger: silentLogger(),
			});
		}
		await waitFor(
			async () => {
				const rows = await h.db.select().from(energyHours).where(eq(energyHours.siteId, site.id));
				return rows.length === 3 && rows.every((row) => row.status === "provisional") ? rows : undefined;
			},
			{ timeoutMs: 30_000, intervalMs: 200, what: "the scheduled job to compute three hours" },
		);
		const counts = await Promise.all(hours.map(rowCount));
		expect(counts.every((count) => count > 0)).toBe(true);

		// A late reading is picked up by a later repetition.
		const hour = hours[0] as Date;
		await h.postReadings(site.id, [reading(hour, 1_200, { [host.name]: 500 })]);
		await waitFor(
			async () => {
				const [row] = await h.db
					.select()
					.from(energyHours)
					.where(and(eq(energyHours.siteId, site.id), eq(energyHours.hour, hour)));
				return row && row.computedVersion === row.readingsVersion && row.meterWh === 1_200 ? row : undefined;
			},
			{ timeoutMs: 30_000, intervalMs: 200, what: "the late reading to be attributed" },
		);
		expect(await rowCount(hour)).toBe(counts[0]);
	});

	it("computes an hour once when many settle it at the same moment", async () => {
		const hour = hourAgo(12);
		await h.postReadings(site.id, [reading(hour, 700, { [host.name]: 250 })]);
		const outcomes = await Promise.all(
			Array.from({ length: 8 }, () => settleSiteHour(h.db, site.id, hour, h.settings)),
		);
		expect(outcomes.filter((outcome) => outcome === "computed")).toHaveLength(1);
		expect(outcomes.filter((outcome) => outcome === "unchanged")).toHaveLength(7);
		const rows = await h.db
			.select()
			.from(energyAttributions)
			.where(and(eq(energyAttributions.siteId, site.id), eq(energyAttributions.hour, hour)));
		expect(rows.reduce((sum, row) => sum + row.totalWh, 0)).toBe(700);
	});
});
