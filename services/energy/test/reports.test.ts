import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnergyHarness, HOUR_MS, hourAgo, reading } from "./support";

/** Tenant reports are strictly the tenant's; the site balance is every tenant plus the disclosed lines. */

interface EnergyItem {
	hour?: string;
	day?: string;
	resource_type?: string;
	resource_id?: string;
	zone?: string;
	energy_wh: { dynamic: number; idle: number; facility_overhead: number; total: number };
	co2e_g: { scope1: number; scope2_location: number; scope2_market: number; embodied: number };
	cfe_fraction: number;
	status: string;
	methodology_version: string;
}
interface BalanceItem {
	hour: string;
	meter_wh: number;
	tenants_wh: number;
	unallocated_idle_wh: number;
	unallocated_dynamic_wh: number;
	unattributed_facility_wh: number;
	residual_wh: number;
	pue: number | null;
	cfe_fraction: number;
	status: string;
}

let h: EnergyHarness;
let site: { id: string };
let zones: { id: string; name: string }[];
const tenants: { id: string; instances: string[]; volume?: string }[] = [];
const hours = [hourAgo(4), hourAgo(3), hourAgo(2)];
const from = hours[0] as Date;
const to = new Date((hours[2] as Date).getTime() + HOUR_MS);

beforeAll(async () => {
	h = await EnergyHarness.start();
	zones = [await h.zone(), await h.zone()];
	const hosts: { zone: { id: string; name: string }; host: { id: string; name: string } }[] = [];
	for (const zone of zones) hosts.push({ zone, host: await h.host(zone.id) }, { zone, host: await h.host(zone.id) });
	site = await h.site(zones.map((zone) => zone.name));
	// Three tenants: one on two hosts of two zones with a volume, one on one host, one that ran
	// only during the middle hour.
	for (let i = 0; i < 3; i++) tenants.push({ id: (await h.t.createTenant()).id, instances: [] });
	const [a, b, c] = tenants as [(typeof tenants)[0], (typeof tenants)[0], (typeof tenants)[0]];
	const [h0, h1, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
	a.instances.push(await h.instance(a.id, h0.host, h0.zone.id, hourAgo(30)));
	a.instances.push(
		await h.instance(a.id, h2.host, h2.zone.id, hourAgo(30), undefined, { vcpus: 8, memoryMib: 16_384 }),
	);
	a.volume = await h.volume(a.id, h0.zone.id, 500, hourAgo(30));
	b.instances.push(await h.instance(b.id, h1.host, h1.zone.id, hourAgo(30)));
	c.instances.push(
		await h.instance(c.id, h0.host, h0.zone.id, new Date((hours[1] as Date).getTime() + 600_000), hours[2]),
	);
	const readings = hours.map((hour, index) =>
		reading(
			hour,
			4_000 + index * 100,
			Object.fromEntries(hosts.map(({ host }, n) => [host.name, 300 + 10 * n + index])),
			500 * index,
		),
	);
	const res = await h.postReadings(site.id, readings);
	if (res.status !== 200) throw new Error(`readings: ${res.status} ${JSON.stringify(res.body)}`);
	await h.attribute();
}, 90_000);
afterAll(async () => {
	await h?.close();
});

const query = (granularity = "hour", groupBy?: string) =>
	`from=${from.toISOString()}&to=${to.toISOString()}&granularity=${granularity}${groupBy ? `&group_by=${groupBy}` : ""}`;

async function energyOf(tenantId: string, token: string, q = query()) {
	return h.t.request<{ items: EnergyItem[]; code?: string }>("GET", `/v1/tenants/${tenantId}/energy?${q}`, { token });
}

describe("tenant reports", () => {
	it("show a tenant member only its own rows, per hour, day, resource and zone", async () => {
		const [a, , c] = tenants as [(typeof tenants)[0], (typeof tenants)[0], (typeof tenants)[0]];
		const viewer = await h.t.principal(a.id, "viewer");
		const hourly = await energyOf(a.id, viewer.token);
		expect(hourly.status).toBe(200);
		expect(hourly.body.items.map((item) => item.hour)).toEqual(hours.map((hour) => hour.toISOString()));
		for (const item of hourly.body.items) {
			expect(item.status).toBe("provisional");
			expect(item.methodology_version).toBe("2026.1");
			const { dynamic, idle, facility_overhead, total } = item.energy_wh;
			expect(dynamic + idle + facility_overhead).toBe(total);
			expect(dynamic).toBeGreaterThan(0);
			expect(facility_overhead).toBeGreaterThan(0);
			expect(item.co2e_g.embodied).toBeGreaterThan(0);
		}
		// The first hour had no grid import: all carbon-free, no Scope 2.
		expect(hourly.body.items[0]?.cfe_fraction).toBe(1);
		expect(hourly.body.items[0]?.co2e_g.scope2_location).toBe(0);
		expect(hourly.body.items[2]?.cfe_fraction).toBeLessThan(1);
		expect(hourly.body.items[2]?.co2e_g.scope2_location).toBeGreaterThan(0);

		const byResource = await energyOf(a.id, viewer.token, query("day", "resource"));
		const resources = new Set(byResource.body.items.map((item) => item.resource_id));
		expect(resources).toEqual(new Set([...a.instances, a.volume]));
		const dayTotal = byResource.body.items.reduce((sum, item) => sum + item.energy_wh.total, 0);
		expect(dayTotal).toBe(hourly.body.items.reduce((sum, item) => sum + item.energy_wh.total, 0));
		const byZone = await energyOf(a.id, viewer.token, query("hour", "zone"));
		expect(new Set(byZone.body.items.map((item) => item.zone))).toEqual(new Set(zones.map((zone) => zone.name)));

		// The tenant that ran only in the middle hour has rows for that hour alone.
		const cOnly = await energyOf(c.id, await h.operator());
		expect(cOnly.body.items.map((item) => item.hour)).toEqual([hours[1]?.toISOString()]);
	});

	it("answer 404 for another tenant's energy and 403 to tenants for the operators' balance", async () => {
		const [a, b] = tenants as [(typeof tenants)[0], (typeof tenants)[0]];
		const member = await h.t.principal(a.id, "member");
		const other = await energyOf(b.id, member.token);
		expect(other.status).toBe(404);
		expect(other.body.code).toBe("not_found");
		const balance = await h.t.request("GET", `/v1/sites/${site.id}/energy-balance?${query()}`, { token: member.token });
		expect(balance.status).toBe(403);
		const sites = await h.t.request("GET", "/v1/sites", { token: member.token });
		expect(sites.status).toBe(403);
		const methodology = await h.t.request<{ current: string }>("GET", "/v1/methodology", { token: member.token });
		expect(methodology.status).toBe(200);
		expect(methodology.body.current).toBe("2026.1");
	});

	it("refuse windows that are empty, inverted or too long", async () => {
		const token = await h.operator();
		const id = tenants[0]?.id as string;
		const bad = [
			`from=${to.toISOString()}&to=${from.toISOString()}`,
			`from=${from.toISOString()}&to=${from.toISOString()}`,
			`from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=hour`,
			`granularity=week`,
			`group_by=host`,
			`from=yesterday`,
		];
		for (const q of bad) {
			const res = await energyOf(id, token, q);
			expect(res.status, q).toBe(400);
			expect(res.body.code).toBe("validation_failed");
		}
	});
});

describe("site balance", () => {
	it("matches the meter every hour: all tenants plus the disclosed lines, residual 0", async () => {
		const token = await h.operator();
		const res = await h.t.request<{ items: BalanceItem[] }>(
			"GET",
			`/v1/sites/${site.id}/energy-balance?from=${from.toISOString()}&to=${to.toISOString()}`,
			{ token },
		);
		expect(res.status).toBe(200);
		expect(res.body.items.map((item) => item.hour)).toEqual(hours.map((hour) => hour.toISOString()));
		const perTenant = await Promise.all(tenants.map((tenant) => energyOf(tenant.id, token)));
		for (const item of res.body.items) {
			expect(item.residual_wh).toBe(0);
			const tenantsWh = perTenant
				.flatMap((answer) => answer.body.items)
				.filter((row) => row.hour === item.hour)
				.reduce((sum, row) => sum + row.energy_wh.total, 0);
			expect(item.tenants_wh).toBe(tenantsWh);
			expect(
				item.tenants_wh + item.unallocated_idle_wh + item.unallocated_dynamic_wh + item.unattributed_facility_wh,
			).toBe(item.meter_wh);
			expect(item.unallocated_idle_wh).toBeGreaterThan(0);
			expect(item.pue).toBeGreaterThan(1);
		}
		expect(res.body.items.map((item) => item.meter_wh)).toEqual([4_000, 4_100, 4_200]);
		const missing = await h.t.request("GET", `/v1/sites/${crypto.randomUUID()}/energy-balance`, { token });
		expect(missing.status).toBe(404);
	});
});
