import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attributeHour } from "../src/domain/attribute";
import { CURRENT_METHODOLOGY } from "../src/domain/methodology";
import type { AttributionRow, HostHour, InstanceHour, SiteHourInput, VolumeHour } from "../src/domain/types";

/**
 * For random sites (hosts with or without readings and power profiles, any mix of busy, idle and
 * part-hour instances, overcommitted or empty hosts, volumes of any class, meters above and below
 * what the hosts report, any supply mix): every hour balances to the meter to the watt-hour,
 * nothing is negative, idle tenants pay no dynamic energy, and carbon adds up to the site's.
 */

const instanceArb = (host: number, index: number): fc.Arbitrary<InstanceHour> =>
	fc
		.record({
			tenantId: fc.constantFrom("t1", "t2", "t3"),
			vcpus: fc.integer({ min: 1, max: 32 }),
			memoryMib: fc.integer({ min: 0, max: 262_144 }),
			busy: fc.boolean(),
			load: fc.integer({ min: 0, max: 100 }),
			reservedSeconds: fc.oneof(fc.constant(3600), fc.integer({ min: 0, max: 3600 })),
		})
		.map(({ busy, load, ...rest }) => ({
			...rest,
			instanceId: `i-${host}-${index}`,
			vcpuSeconds: busy ? Math.floor((rest.vcpus * rest.reservedSeconds * load) / 100) : 0,
		}));

const hostArb = (host: number): fc.Arbitrary<HostHour> =>
	fc
		.record({
			measuredWh: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }),
			profile: fc.option(
				fc.tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 1200 })).map(([idle, extra]) => ({
					idle,
					max: idle + extra,
				})),
				{ nil: null },
			),
			utilisation: fc.integer({ min: 0, max: 1000 }).map((per) => per / 1000),
			capacityVcpus: fc.integer({ min: 0, max: 128 }),
			capacityMemoryMib: fc.integer({ min: 0, max: 1_048_576 }),
			embodied: fc.option(
				fc.record({
					kg: fc.integer({ min: 0, max: 8_000_000 }).map((grams) => grams / 1000),
					years: fc.integer({ min: 1, max: 240 }).map((months) => months / 12),
				}),
				{ nil: null },
			),
			count: fc.integer({ min: 0, max: 5 }),
		})
		.chain(({ profile, embodied, count, ...rest }) =>
			fc.tuple(...Array.from({ length: count }, (_, index) => instanceArb(host, index))).map((instances) => ({
				...rest,
				hostId: `h-${host}`,
				zoneId: host % 2 === 0 ? "z-a" : "z-b",
				powerIdleW: profile?.idle ?? null,
				powerMaxW: profile?.max ?? null,
				embodiedKgco2e: embodied?.kg ?? null,
				lifetimeYears: embodied?.years ?? null,
				instances,
			})),
		);

const volumeArb = (index: number): fc.Arbitrary<VolumeHour> =>
	fc.record({
		volumeId: fc.constant(`v-${index}`),
		tenantId: fc.constantFrom("t1", "t2", "t3"),
		zoneId: fc.constantFrom("z-a", "z-b"),
		storageClass: fc.constantFrom("ssd", "hdd", "nvme", "tape"),
		allocatedGibSeconds: fc.integer({ min: 0, max: 16_384 * 3600 }),
	});

const siteHourArb: fc.Arbitrary<SiteHourInput> = fc
	.record({ hosts: fc.integer({ min: 0, max: 5 }), volumes: fc.integer({ min: 0, max: 5 }) })
	.chain(({ hosts, volumes }) =>
		fc.record({
			siteId: fc.constant("site"),
			hour: fc.constant("2026-03-01T05:00:00Z"),
			siteWh: fc.integer({ min: 0, max: 40_000 }),
			supplyWh: fc.record({
				wind: fc.integer({ min: 0, max: 20_000 }),
				solar: fc.integer({ min: 0, max: 20_000 }),
				battery: fc.integer({ min: 0, max: 5000 }),
				grid: fc.integer({ min: 0, max: 20_000 }),
				diesel: fc.integer({ min: 0, max: 2000 }),
			}),
			gridGco2ePerKwh: fc.integer({ min: 0, max: 1_200_000 }).map((milli) => milli / 1000),
			hosts: fc.tuple(...Array.from({ length: hosts }, (_, index) => hostArb(index))),
			volumes: fc.tuple(...Array.from({ length: volumes }, (_, index) => volumeArb(index))),
		}),
	);

const total = (rows: readonly AttributionRow[], pick: (row: AttributionRow) => number): number =>
	rows.reduce((sum, row) => sum + pick(row), 0);

const rowKey = (row: AttributionRow): string =>
	row.kind === "operator"
		? `${row.line}:${row.hostId}`
		: `${row.kind}:${row.resourceId}:${row.kind === "instance" ? row.hostId : ""}`;

describe("attribution properties", () => {
	it("balances every hour to the meter with non-negative shares, and idle tenants pay no dynamic energy", () => {
		fc.assert(
			fc.property(siteHourArb, (input) => {
				const { rows, totals } = attributeHour(input, CURRENT_METHODOLOGY);
				expect(total(rows, (row) => row.energyWh.total)).toBe(input.siteWh);
				expect(totals.itWh + totals.facilityOverheadWh).toBe(input.siteWh);
				for (const row of rows) {
					const { dynamic, idle, facilityOverhead, total: rowTotal } = row.energyWh;
					for (const part of [dynamic, idle, facilityOverhead, ...Object.values(row.co2eMg)]) {
						expect(Number.isSafeInteger(part) && part >= 0).toBe(true);
					}
					expect(rowTotal).toBe(dynamic + idle + facilityOverhead);
					expect(row.cfeWh).toBeGreaterThanOrEqual(0);
					expect(row.cfeWh).toBeLessThanOrEqual(rowTotal);
				}
				const idleInstances = new Set(
					input.hosts.flatMap((host) =>
						host.instances.filter((instance) => instance.vcpuSeconds === 0).map((instance) => instance.instanceId),
					),
				);
				for (const row of rows) {
					if (row.kind === "volume" || (row.kind === "instance" && idleInstances.has(row.resourceId))) {
						expect(row.energyWh.dynamic).toBe(0);
					}
				}
			}),
			{ numRuns: 400 },
		);
	});

	it("shares out exactly the site's carbon, carbon-free energy and each host's energy and embodied carbon", () => {
		fc.assert(
			fc.property(siteHourArb, (input) => {
				const { rows, totals } = attributeHour(input, CURRENT_METHODOLOGY);
				expect(total(rows, (row) => row.co2eMg.scope1)).toBe(totals.co2eMg.scope1);
				expect(total(rows, (row) => row.co2eMg.scope2Location)).toBe(totals.co2eMg.scope2Location);
				expect(total(rows, (row) => row.co2eMg.scope2Market)).toBe(totals.co2eMg.scope2Market);
				expect(total(rows, (row) => row.co2eMg.embodied)).toBe(totals.co2eMg.embodied);
				expect(total(rows, (row) => row.cfeWh)).toBe(totals.cfeWh);
				expect(total(rows, (row) => row.energyWh.dynamic + row.energyWh.idle)).toBe(totals.itWh);
				expect(totals.co2eMg.scope1).toBe(input.supplyWh.diesel * CURRENT_METHODOLOGY.dieselGco2ePerKwh);
				if (totals.meteringDiscrepancyWh === 0) {
					// No scaling: every host's rows carry exactly its reading, idle never above P_idle.
					for (const host of input.hosts.filter((candidate) => candidate.measuredWh !== null)) {
						const onHost = rows.filter((row) => row.kind !== "volume" && row.hostId === host.hostId);
						expect(total(onHost, (row) => row.energyWh.dynamic + row.energyWh.idle)).toBe(host.measuredWh);
						if (host.powerIdleW !== null) {
							expect(total(onHost, (row) => row.energyWh.idle)).toBe(Math.min(host.measuredWh ?? 0, host.powerIdleW));
						}
					}
				} else {
					expect(totals.facilityOverheadWh).toBe(0);
				}
			}),
			{ numRuns: 300 },
		);
	});

	it("charges nobody idle energy on a host they held no reservation on", () => {
		fc.assert(
			fc.property(siteHourArb, (input) => {
				const { rows } = attributeHour(input, CURRENT_METHODOLOGY);
				const unreserved = new Set(
					input.hosts.flatMap((host) =>
						host.instances
							.filter((instance) => instance.reservedSeconds === 0)
							.map((instance) => `${host.hostId}:${instance.instanceId}`),
					),
				);
				for (const row of rows) {
					if (row.kind === "instance" && unreserved.has(`${row.hostId}:${row.resourceId}`)) {
						expect(row.energyWh.idle).toBe(0);
						expect(row.co2eMg.embodied).toBe(0);
					}
				}
			}),
			{ numRuns: 200 },
		);
	});

	it("does not depend on the order hosts, instances and volumes are listed in", () => {
		fc.assert(
			fc.property(siteHourArb, (input) => {
				const reversed: SiteHourInput = {
					...input,
					hosts: [...input.hosts].reverse().map((host) => ({ ...host, instances: [...host.instances].reverse() })),
					volumes: [...input.volumes].reverse(),
				};
				const byKey = (rows: AttributionRow[]) =>
					Object.fromEntries(rows.map((row) => [rowKey(row), { ...row.energyWh, ...row.co2eMg, cfe: row.cfeWh }]));
				expect(byKey(attributeHour(reversed, CURRENT_METHODOLOGY).rows)).toEqual(
					byKey(attributeHour(input, CURRENT_METHODOLOGY).rows),
				);
			}),
			{ numRuns: 200 },
		);
	});
});
