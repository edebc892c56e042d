import { describe, expect, it } from "vitest";
import { apportion } from "../src/domain/apportion";
import { attributeHour } from "../src/domain/attribute";
import { CURRENT_METHODOLOGY, methodologyForHour } from "../src/domain/methodology";
import type { AttributionRow, HostHour, SiteHourInput } from "../src/domain/types";
import { AttributionInputError } from "../src/domain/validate";

/**
 * One hour worked by hand (the numbers in the comments are the hand computation).
 * Host A: 500 Wh read, idle 200 W, 8 vCPUs and 16 GiB to rent, 1752 kg embodied over 5 years
 * (1752e6 mg / 43 800 h = 40 000 mg per hour). On it i1 (tenant T1, busy: 5400 vCPU-s) and i2
 * (tenant T2, idle: no CPU at all), each 2 vCPUs and 4 GiB for the whole hour: together exactly
 * half of A's capacity by the 0.74 W / vCPU and 0.392 W / GB weights.
 * Host B: no reading, 100..300 W at 50 % = 200 Wh, estimated, nothing on it.
 * Volume v1 (T1): 1000 GiB of SSD for the hour = 1.0737 TB x 1.2 Wh = 1.29, so 1 Wh.
 * Meter 1000 Wh; IT = 500 + 200 + 1 = 701; facility overhead 299 (PUE 1000/701).
 */
const hostA: HostHour = {
	hostId: "host-a",
	zoneId: "zone-1",
	measuredWh: 500,
	powerIdleW: 200,
	powerMaxW: 600,
	utilisation: 0.4,
	capacityVcpus: 8,
	capacityMemoryMib: 16_384,
	embodiedKgco2e: 1752,
	lifetimeYears: 5,
	instances: [
		{ instanceId: "i1", tenantId: "T1", vcpus: 2, memoryMib: 4096, vcpuSeconds: 5400, reservedSeconds: 3600 },
		{ instanceId: "i2", tenantId: "T2", vcpus: 2, memoryMib: 4096, vcpuSeconds: 0, reservedSeconds: 3600 },
	],
};
const hostB: HostHour = {
	hostId: "host-b",
	zoneId: "zone-1",
	measuredWh: null,
	powerIdleW: 100,
	powerMaxW: 300,
	utilisation: 0.5,
	capacityVcpus: 4,
	capacityMemoryMib: 8192,
	embodiedKgco2e: null,
	lifetimeYears: null,
	instances: [],
};
const example: SiteHourInput = {
	siteId: "site-1",
	hour: "2026-06-21T12:00:00Z",
	siteWh: 1000,
	supplyWh: { wind: 600, solar: 200, battery: 0, grid: 150, diesel: 50 },
	gridGco2ePerKwh: 500,
	hosts: [hostA, hostB],
	volumes: [
		{ volumeId: "v1", tenantId: "T1", zoneId: "zone-1", storageClass: "ssd", allocatedGibSeconds: 1000 * 3600 },
	],
};

const find = (rows: AttributionRow[], key: string): AttributionRow => {
	const row = rows.find((candidate) =>
		candidate.kind === "operator" ? `${candidate.line}:${candidate.hostId}` === key : candidate.resourceId === key,
	);
	if (!row) throw new Error(`no row ${key}`);
	return row;
};

describe("attribution of one hand-computed hour", () => {
	const result = attributeHour(example, CURRENT_METHODOLOGY);
	const row = (key: string) => find(result.rows, key);

	it("splits each host into idle and dynamic and shares them by use and by reservation", () => {
		// A: idle 200, dynamic 300 all to i1 (the only CPU user); idle 50 / 50 / 100 unrented.
		expect(row("i1").energyWh).toMatchObject({ dynamic: 300, idle: 50 });
		expect(row("i2").energyWh).toMatchObject({ dynamic: 0, idle: 50 });
		expect(row("unallocated_idle:host-a").energyWh).toMatchObject({ dynamic: 0, idle: 100 });
		// B: idle 100 unrented, dynamic 100 with no instance to give it to.
		expect(row("unallocated_idle:host-b").energyWh).toMatchObject({ idle: 100, dynamic: 0 });
		expect(row("unallocated_dynamic:host-b").energyWh).toMatchObject({ idle: 0, dynamic: 100 });
		expect(row("v1").energyWh).toMatchObject({ idle: 1, dynamic: 0 });
	});

	it("shares facility overhead by IT energy with the largest remainders", () => {
		// 299 x (350, 50, 100, 100, 100, 1) / 701 = 149.29, 21.33, 42.65 x 3, 0.43: floors 296,
		// the 3 left go to the three 42.65s.
		expect(row("i1").energyWh).toEqual({ dynamic: 300, idle: 50, facilityOverhead: 149, total: 499 });
		expect(row("i2").energyWh).toEqual({ dynamic: 0, idle: 50, facilityOverhead: 21, total: 71 });
		for (const key of ["unallocated_idle:host-a", "unallocated_idle:host-b", "unallocated_dynamic:host-b"]) {
			expect(row(key).energyWh.total).toBe(143);
		}
		expect(row("v1").energyWh).toEqual({ dynamic: 0, idle: 1, facilityOverhead: 0, total: 1 });
		expect(result.totals).toMatchObject({
			meterWh: 1000,
			itWh: 701,
			facilityOverheadWh: 299,
			meteringDiscrepancyWh: 0,
		});
		expect(result.totals.pue).toBeCloseTo(1000 / 701, 12);
	});

	it("shares the hour's carbon by total energy and embodied carbon like idle", () => {
		// Scope 1: 50 Wh x 762 g/kWh = 38 100 mg; x (499, 71, 143 x 3, 1) / 1000 = 19 011.9,
		// 2705.1, 5448.3 x 3, 38.1: two left, to i1 (.9) then the smallest key among the .3s.
		expect(row("i1").co2eMg.scope1).toBe(19_012);
		expect(row("i2").co2eMg.scope1).toBe(2705);
		expect(row("unallocated_dynamic:host-b").co2eMg.scope1).toBe(5449);
		expect(row("unallocated_idle:host-a").co2eMg.scope1).toBe(5448);
		// Scope 2: 150 Wh x 500 g/kWh = 75 000 mg, exactly 75 mg per Wh.
		expect(row("i1").co2eMg).toMatchObject({ scope2Location: 37_425, scope2Market: 37_425 });
		// Embodied: A's 40 000 mg a quarter each to i1 and i2, half unrented; B has none.
		expect(row("i1").co2eMg.embodied).toBe(10_000);
		expect(row("i2").co2eMg.embodied).toBe(10_000);
		expect(row("unallocated_idle:host-a").co2eMg.embodied).toBe(20_000);
		expect(row("unallocated_idle:host-b").co2eMg.embodied).toBe(0);
		expect(result.totals.co2eMg).toEqual({
			scope1: 38_100,
			scope2Location: 75_000,
			scope2Market: 75_000,
			embodied: 40_000,
		});
	});

	it("reports the hour's carbon-free fraction and each row's carbon-free energy", () => {
		// (600 + 200) / 1000 = 0.8; 800 Wh x (499, 71, 143 x 3, 1) / 1000 = 399.2, 56.8, 114.4 x 3, 0.8.
		expect(result.totals).toMatchObject({ cfeFraction: 0.8, cfeWh: 800 });
		expect(row("i1").cfeWh).toBe(399);
		expect(row("i2").cfeWh).toBe(57);
		expect(row("v1").cfeWh).toBe(1);
		expect(row("unallocated_dynamic:host-b").cfeWh).toBe(115);
		expect(result.rows.every((candidate) => candidate.cfeFraction === 0.8)).toBe(true);
	});

	it("marks estimates and names the methodology on every row", () => {
		expect(row("i1").estimated).toBe(false);
		expect(row("unallocated_idle:host-b").estimated).toBe(true);
		expect(row("v1").estimated).toBe(true);
		expect(result.rows.every((candidate) => candidate.methodologyVersion === CURRENT_METHODOLOGY.version)).toBe(true);
		expect(methodologyForHour(example.hour).version).toBe(CURRENT_METHODOLOGY.version);
	});
});

describe("hours that need a disclosed treatment", () => {
	it("scales host and storage figures down to a meter that reads less, never below zero", () => {
		// Readings 500 + 200 + 1 = 701 against a meter of 600: scaled by 600/701, nothing negative.
		const result = attributeHour({ ...example, siteWh: 600 }, CURRENT_METHODOLOGY);
		expect(result.totals).toMatchObject({ meterWh: 600, itWh: 600, facilityOverheadWh: 0, meteringDiscrepancyWh: 101 });
		expect(result.totals.pue).toBe(1);
		expect(result.rows.reduce((total, candidate) => total + candidate.energyWh.total, 0)).toBe(600);
		expect(result.rows.every((candidate) => candidate.energyWh.facilityOverhead === 0)).toBe(true);
	});

	it("gives a meter with no IT energy behind it to a site-wide operator line", () => {
		const result = attributeHour({ ...example, hosts: [], volumes: [] }, CURRENT_METHODOLOGY);
		expect(result.rows).toHaveLength(1);
		expect(result.rows[0]).toMatchObject({ kind: "operator", line: "unattributed_facility", hostId: null });
		expect(result.rows[0]?.energyWh).toEqual({ dynamic: 0, idle: 0, facilityOverhead: 1000, total: 1000 });
		expect(result.rows[0]?.co2eMg.scope1).toBe(38_100);
		expect(result.totals.pue).toBeNull();
	});

	it("refuses input no share could be computed from", () => {
		expect(() => attributeHour({ ...example, hour: "2026-06-21T12:30:00Z" }, CURRENT_METHODOLOGY)).toThrow(
			AttributionInputError,
		);
		expect(() => attributeHour({ ...example, siteWh: -1 }, CURRENT_METHODOLOGY)).toThrow(AttributionInputError);
		expect(() => attributeHour({ ...example, hosts: [hostA, hostA] }, CURRENT_METHODOLOGY)).toThrow(
			AttributionInputError,
		);
	});
});

describe("largest-remainder sharing", () => {
	it("gives the units left over to the largest remainders, ties to the smallest key", () => {
		expect(
			apportion(10n, [
				{ key: "b", weight: 1n },
				{ key: "a", weight: 1n },
				{ key: "c", weight: 1n },
			]),
		).toEqual([3n, 4n, 3n]);
		expect(
			apportion(7n, [
				{ key: "x", weight: 2n },
				{ key: "y", weight: 5n },
				{ key: "z", weight: 0n },
			]),
		).toEqual([2n, 5n, 0n]);
	});

	it("refuses a positive whole with nobody to give it to", () => {
		expect(() => apportion(1n, [{ key: "a", weight: 0n }])).toThrow(RangeError);
		expect(apportion(0n, [{ key: "a", weight: 0n }])).toEqual([0n]);
	});
});
