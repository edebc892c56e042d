import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { informationLines } from "../src/domain/footprint";
import { type EnergyHour, METERS, type Meter } from "../src/domain/metering";
import { type RateVersion, rateUsage } from "../src/domain/rating";

/**
 * The energy meter against a reference: every hour of the ledger lands in exactly one rate
 * version's line (the one its start falls in), none is lost or counted twice, and a version that
 * does not charge for energy makes no energy line.
 */

const HOUR = 3_600_000_000n;
const FROM = 0n;
const HOURS_IN_WINDOW = 744n;

const hoursArb = fc.uniqueArray(
	fc.record({
		// Some hours fall before or after the window on purpose.
		index: fc.bigInt({ min: -24n, max: HOURS_IN_WINDOW + 24n }),
		wh: fc.bigInt({ min: 0n, max: 5_000_000n }),
	}),
	{ selector: (hour) => hour.index, maxLength: 60 },
);

const versionsArb = fc
	.uniqueArray(fc.bigInt({ min: 1n, max: HOURS_IN_WINDOW - 1n }), { maxLength: 3 })
	.chain((starts) =>
		fc.tuple(
			fc.constant([0n, ...starts].sort((a, b) => (a < b ? -1 : 1))),
			fc.array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2_000_000n })), {
				minLength: starts.length + 1,
				maxLength: starts.length + 1,
			}),
		),
	)
	.map(([starts, energyRates]) =>
		starts.map(
			(start, index): RateVersion => ({
				id: `v${index}`,
				// Starts in minutes inside an hour too: an hour belongs to the version its start falls in.
				effectiveAtMicros: start * HOUR + (index % 2 === 1 ? 17n * 60_000_000n : 0n),
				rates: Object.fromEntries(
					METERS.map((meter) => [meter, meter === "energy_kwh" ? (energyRates[index] as bigint) : 1n]),
				) as Record<Meter, bigint>,
				taxRatePpm: 0n,
			}),
		),
	);

describe("energy rating (property)", () => {
	it("rates every hour of the window once, at the version its start falls in", () => {
		fc.assert(
			fc.property(hoursArb, versionsArb, (indexed, versions) => {
				const hours: EnergyHour[] = indexed.map(({ index, wh }) => ({ hourMicros: FROM + index * HOUR, wh }));
				const to = FROM + HOURS_IN_WINDOW * HOUR;
				const lines = rateUsage([], hours, versions, FROM, to, "MAD").filter((line) => line.meter === "energy_kwh");
				for (const [index, version] of versions.entries()) {
					const next = versions[index + 1]?.effectiveAtMicros ?? to;
					const start = index === 0 ? FROM : version.effectiveAtMicros;
					const wh = hours
						.filter((hour) => hour.hourMicros >= start && hour.hourMicros < next)
						.reduce((sum, hour) => sum + hour.wh, 0n);
					const line = lines.find((candidate) => candidate.versionId === version.id);
					if (version.rates.energy_kwh === 0n || wh === 0n) {
						expect(line).toBeUndefined();
					} else {
						expect(line?.quantityNanos).toBe(wh * 1_000_000n);
						expect(line?.unitPriceMicros).toBe(version.rates.energy_kwh);
					}
				}
				const inWindow = hours.filter((hour) => hour.hourMicros >= FROM && hour.hourMicros < to);
				const total = inWindow.reduce((sum, hour) => sum + hour.wh, 0n);
				if (versions.every((version) => version.rates.energy_kwh > 0n)) {
					expect(lines.reduce((sum, line) => sum + line.quantityNanos, 0n)).toBe(total * 1_000_000n);
				}
				const [energyInformation] = informationLines({
					wh: total,
					scope1Mg: 0n,
					scope2LocationMg: 0n,
					scope2MarketMg: 0n,
					embodiedMg: 0n,
				});
				expect(energyInformation).toEqual({ meter: "energy_kwh", unit: "kWh", quantityNanos: total * 1_000_000n });
			}),
			{ numRuns: 300 },
		);
	});
});
