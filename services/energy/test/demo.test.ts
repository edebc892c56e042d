import { energySiteReadings, hosts } from "@igoudar/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_HOURS, demoSupply, ensureDemoSite, feedDemoSite } from "../src/index";
import { EnergyHarness, HOUR_MS, hourAgo } from "./support";

/** The demo site: a day of Dakhla readings at once, then each hour as it ends. */

interface BalanceItem {
	hour: string;
	meter_wh: number;
	tenants_wh: number;
	residual_wh: number;
	cfe_fraction: number;
	supply_wh: { wind: number; solar: number; battery: number; grid: number; diesel: number };
	status: string;
}

let h: EnergyHarness;
let tenantId: string;
const now = new Date(hourAgo(0).getTime() + 20 * 60_000);

beforeAll(async () => {
	h = await EnergyHarness.start();
	// A tenant's instance running on a demo host: the demo's readings follow it, its rows show it.
	await ensureDemoSite(h.db);
	const [host] = await h.db.select().from(hosts).where(eq(hosts.name, "dakhla-demo-h1"));
	if (!host) throw new Error("no demo host");
	tenantId = (await h.t.createTenant()).id;
	await h.instance(tenantId, host, host.zoneId, hourAgo(40), undefined, { vcpus: 16, memoryMib: 65_536 });
}, 60_000);
afterAll(async () => {
	await h?.close();
});

describe("demo site", () => {
	it("produces a day of hourly rows whose carbon-free share follows the supply it was fed", async () => {
		const { siteId, posted } = await feedDemoSite(h.db, h.settings, undefined, now);
		expect(posted).toBe(DEMO_HOURS);
		const from = hourAgo(DEMO_HOURS, now.getTime());
		const res = await h.t.request<{ items: BalanceItem[] }>(
			"GET",
			`/v1/sites/${siteId}/energy-balance?from=${from.toISOString()}&to=${hourAgo(0, now.getTime()).toISOString()}`,
			{ token: await h.operator() },
		);
		expect(res.status).toBe(200);
		expect(res.body.items).toHaveLength(DEMO_HOURS);
		const fed = await h.db.select().from(energySiteReadings).where(eq(energySiteReadings.siteId, siteId));
		for (const item of res.body.items) {
			const reading = fed.find((row) => row.hour.toISOString() === item.hour);
			if (!reading) throw new Error(`no reading for ${item.hour}`);
			expect(item.meter_wh).toBe(reading.siteWh);
			expect(item.supply_wh).toEqual(demoSupply(new Date(item.hour), reading.siteWh));
			const { wind, solar, battery, grid, diesel } = item.supply_wh;
			expect(wind + solar + battery + grid + diesel).toBe(item.meter_wh);
			expect(item.cfe_fraction).toBeCloseTo((wind + solar + battery) / item.meter_wh, 5);
			expect(item.residual_wh).toBe(0);
			expect(item.tenants_wh).toBeGreaterThan(0);
			expect(item.status).toBe("provisional");
			// Dakhla is UTC+1: no sun before 06:30 or after 18:30 local time, a steady wind always.
			const local = (new Date(item.hour).getUTCHours() + 1) % 24;
			if (local < 6 || local >= 19) expect(solar).toBe(0);
			if (local >= 11 && local <= 15) expect(solar).toBeGreaterThan(0);
			expect(wind).toBeGreaterThan(0);
		}
		const cfe = res.body.items.map((item) => item.cfe_fraction);
		expect(Math.max(...cfe)).toBe(1);
		expect(Math.min(...cfe)).toBeLessThan(1);

		// The tenant sees its own day, at the hour's share (to a Wh per row: each
		// row's carbon-free energy is a whole number of Wh).
		const energy = await h.t.request<{ items: { hour: string; cfe_fraction: number; energy_wh: { total: number } }[] }>(
			"GET",
			`/v1/tenants/${tenantId}/energy?from=${from.toISOString()}&to=${hourAgo(0, now.getTime()).toISOString()}`,
			{ token: await h.operator() },
		);
		expect(energy.body.items).toHaveLength(DEMO_HOURS);
		for (const item of energy.body.items) {
			const site = res.body.items.find((hour) => hour.hour === item.hour);
			expect(Math.abs(item.cfe_fraction - (site?.cfe_fraction ?? -1))).toBeLessThanOrEqual(
				1 / item.energy_wh.total + 1e-6,
			);
		}
	});

	it("posts each hour once as it ends", async () => {
		const again = await feedDemoSite(h.db, h.settings, undefined, now);
		expect(again.posted).toBe(0);
		const later = await feedDemoSite(h.db, h.settings, undefined, new Date(now.getTime() + HOUR_MS));
		expect(later.posted).toBe(1);
	});

	it("shows its latest hour at /metrics, per site and zone", async () => {
		await h.t.platform.refreshMetrics();
		const res = await h.t.request<string>("GET", "/metrics");
		expect(res.status).toBe(200);
		const value = (pattern: RegExp) => Number(pattern.exec(res.body)?.[1]);
		expect(value(/^igoudar_site_energy_wh\{site="dakhla-demo"\} (\d+)$/m)).toBeGreaterThan(0);
		expect(value(/^igoudar_site_pue\{site="dakhla-demo"\} ([\d.]+)$/m)).toBeGreaterThan(1);
		expect(value(/^igoudar_site_cfe_fraction\{site="dakhla-demo"\} ([\d.e-]+)$/m)).toBeGreaterThan(0);
		expect(value(/^igoudar_zone_energy_wh\{site="dakhla-demo",zone="dakhla-demo"\} (\d+)$/m)).toBeGreaterThan(0);
		expect(res.body).toMatch(
			/^igoudar_zone_co2e_grams\{site="dakhla-demo",zone="dakhla-demo",scope="embodied"\} [\d.]+$/m,
		);
	});
});
