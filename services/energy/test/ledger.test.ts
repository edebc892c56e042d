import { energyAttributions, energyHostReadings } from "@igoudar/db";
import { and, asc, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleSiteHour } from "../src/index";
import { EnergyHarness, HOUR_MS, hourAgo, reading } from "./support";

/** Readings, provisional and final hours: corrections land until an hour is final, then never. */

let h: EnergyHarness;
let site: { id: string };
let zone: { id: string; name: string };
let hostA: { id: string; name: string };
let hostB: { id: string; name: string };
let tenantId: string;

beforeAll(async () => {
	h = await EnergyHarness.start();
	zone = await h.zone();
	hostA = await h.host(zone.id);
	hostB = await h.host(zone.id);
	site = await h.site([zone.name]);
	tenantId = (await h.t.createTenant()).id;
	await h.instance(tenantId, hostA, zone.id, hourAgo(40));
}, 60_000);
afterAll(async () => {
	await h?.close();
});

async function tenantHour(hour: Date) {
	const res = await h.t.request<{ items: { hour: string; energy_wh: { total: number }; status: string }[] }>(
		"GET",
		`/v1/tenants/${tenantId}/energy?from=${hour.toISOString()}&to=${new Date(hour.getTime() + HOUR_MS).toISOString()}`,
		{ token: await h.operator() },
	);
	expect(res.status).toBe(200);
	return res.body.items;
}

async function rowsOf(hour: Date) {
	return h.db
		.select()
		.from(energyAttributions)
		.where(and(eq(energyAttributions.siteId, site.id), eq(energyAttributions.hour, hour)))
		.orderBy(asc(energyAttributions.id));
}

describe("readings and hours", () => {
	it("computes a provisional hour, and a late reading corrects it", async () => {
		const hour = hourAgo(3);
		const first = await h.postReadings(site.id, [reading(hour, 2_000, { [hostA.name]: 250, [hostB.name]: 100 })]);
		expect(first.status).toBe(200);
		expect(first.body).toEqual({ items: [{ hour: hour.toISOString(), changed: true }] });
		// Nothing is reported before the job has run.
		expect(await tenantHour(hour)).toEqual([]);
		expect((await h.attribute()).computed).toBeGreaterThanOrEqual(1);
		const before = await tenantHour(hour);
		expect(before).toHaveLength(1);
		expect(before[0]?.status).toBe("provisional");

		// The same reading again changes nothing and computes nothing.
		const repeat = await h.postReadings(site.id, [reading(hour, 2_000, { [hostA.name]: 250, [hostB.name]: 100 })]);
		expect(repeat.body).toEqual({ items: [{ hour: hour.toISOString(), changed: false }] });
		expect((await h.attribute()).computed).toBe(0);

		// A corrected host reading (by id this time) raises the tenant's host energy.
		const late = await h.postReadings(site.id, [reading(hour, 2_000, { [hostA.id]: 290, [hostB.name]: 100 })]);
		expect(late.body).toEqual({ items: [{ hour: hour.toISOString(), changed: true }] });
		expect((await h.attribute()).computed).toBe(1);
		const after = await tenantHour(hour);
		expect(after[0]?.status).toBe("provisional");
		expect(after[0]?.energy_wh.total).toBeGreaterThan(before[0]?.energy_wh.total ?? 0);
		const rows = await rowsOf(hour);
		expect(rows.reduce((sum, row) => sum + row.totalWh, 0)).toBe(2_000);
	});

	it("freezes an hour once its final window has passed, and refuses readings for it with 409", async () => {
		const hour = hourAgo(5);
		await h.postReadings(site.id, [reading(hour, 1_500, { [hostA.name]: 200 })]);
		await h.attribute();
		const provisional = await rowsOf(hour);
		expect(provisional.every((row) => row.status === "provisional")).toBe(true);

		// A day later the job finds the hour past its window and freezes it as it stands.
		const later = new Date(Date.now() + (h.settings.finalAfterHours + 1) * HOUR_MS);
		expect(await settleSiteHour(h.db, site.id, hour, h.settings, later)).toBe("finalized");
		const final = await rowsOf(hour);
		expect(final.map((row) => row.status)).toEqual(provisional.map(() => "final"));
		expect(final.map((row) => [row.id, row.totalWh])).toEqual(provisional.map((row) => [row.id, row.totalWh]));

		const refused = await h.postReadings(site.id, [reading(hour, 9_999, { [hostA.name]: 900 })]);
		expect(refused.status).toBe(409);
		expect(refused.body.code).toBe("invalid_state");
		// Settling again, now or later, leaves it alone; and the database refuses to change it.
		expect(await settleSiteHour(h.db, site.id, hour, h.settings, later)).toBe("unchanged");
		const tampering = await h.db
			.execute(sql`update energy_attributions set total_wh = total_wh + 1 where site_id = ${site.id}`)
			.catch((error: unknown) => error);
		expect(String((tampering as Error).cause)).toMatch(/final energy rows are frozen/);
		expect(await rowsOf(hour)).toEqual(final);
	});

	it("refuses, with 409 and nothing stored, a batch holding an hour past its final window", async () => {
		const old = hourAgo(h.settings.finalAfterHours + 2);
		const recent = hourAgo(7);
		const res = await h.postReadings(site.id, [reading(recent, 800, {}), reading(old, 800, {})]);
		expect(res.status).toBe(409);
		expect(res.body.code).toBe("invalid_state");
		expect(res.body.errors).toEqual([
			{ field: "body/items/1/hour", message: `the hour ${old.toISOString()} is final` },
		]);
		await h.attribute();
		expect(await rowsOf(recent)).toEqual([]);
	});

	it("estimates a host that sent no reading from its power profile, and says so", async () => {
		const hour = hourAgo(9);
		await h.postReadings(site.id, [reading(hour, 1_000, { [hostB.name]: 100 })]);
		await h.attribute();
		const rows = await rowsOf(hour);
		const onA = rows.filter((row) => row.hostId === hostA.id);
		expect(onA.length).toBeGreaterThan(0);
		expect(onA.every((row) => row.estimated)).toBe(true);
		expect(rows.filter((row) => row.hostId === hostB.id).every((row) => !row.estimated)).toBe(true);
	});

	it("takes parallel batches sharing hours in any order without deadlock, one value per meter and hour", async () => {
		const hours = [hourAgo(12), hourAgo(13), hourAgo(14), hourAgo(15)];
		const batches = Array.from({ length: 12 }, (_, n) => {
			const order = n % 2 === 0 ? hours : [...hours].reverse();
			return order.map((hour) => reading(hour, 1_000 + n, { [hostA.name]: 200 + n }));
		});
		const answers = await Promise.all(batches.map((items) => h.postReadings(site.id, items)));
		expect(answers.map((answer) => answer.status)).toEqual(batches.map(() => 200));
		await h.attribute();
		for (const hour of hours) {
			const rows = await rowsOf(hour);
			const meter = rows.reduce((sum, row) => sum + row.totalWh, 0);
			// Whichever batch committed last holds the hour, whole: its meter and its host reading.
			expect(meter).toBeGreaterThanOrEqual(1_000);
			expect(meter).toBeLessThan(1_012);
			const [hostReading] = await h.db
				.select()
				.from(energyHostReadings)
				.where(and(eq(energyHostReadings.hostId, hostA.id), eq(energyHostReadings.hour, hour)));
			expect(hostReading?.wh).toBe(200 + (meter - 1_000));
		}
	});

	it("refuses malformed readings with 400 and a field per fault", async () => {
		const other = await h.zone();
		const foreign = await h.host(other.id);
		const hour = hourAgo(2);
		const cases: [unknown[], string][] = [
			[[{ ...reading(hour, 10, {}), hour: new Date(hour.getTime() + 60_000).toISOString() }], "body/items/0/hour"],
			[[reading(new Date(hourAgo(0).getTime()), 10, {})], "body/items/0/hour"],
			[[reading(hour, 10, {}), reading(hour, 11, {})], "body/items/1/hour"],
			[[reading(hour, 10, { [foreign.name]: 5 })], "body/items/0/hosts/0/host"],
			[[reading(hour, 10, { "no-such-host": 5 })], "body/items/0/hosts/0/host"],
		];
		for (const [items, field] of cases) {
			const res = await h.t.request<{ code: string; errors: { field: string }[] }>(
				"POST",
				`/v1/sites/${site.id}/readings`,
				{ token: await h.operator(), body: { items } },
			);
			expect(res.status, field).toBe(400);
			expect(res.body.code).toBe("validation_failed");
			expect(res.body.errors.map((error) => error.field)).toContain(field);
		}
		const unknownField = await h.t.request("POST", `/v1/sites/${site.id}/readings`, {
			token: await h.operator(),
			body: { items: [{ ...reading(hour, 10, {}), extra: 1 }] },
		});
		expect(unknownField.status).toBe(400);
		const negative = await h.t.request("POST", `/v1/sites/${site.id}/readings`, {
			token: await h.operator(),
			body: { items: [reading(hour, -1, {})] },
		});
		expect(negative.status).toBe(400);
		const missing = await h.t.request("POST", `/v1/sites/${crypto.randomUUID()}/readings`, {
			token: await h.operator(),
			body: { items: [reading(hour, 10, {})] },
		});
		expect(missing.status).toBe(404);
	});
});
