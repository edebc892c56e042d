import { lineAmountMicros, taxMicros } from "./currencies";
import {
	accumulateEnergy,
	accumulateUsage,
	type EnergyHour,
	METERS,
	type Meter,
	quantityNanos,
	type ResourceLifetime,
	zeroTotals,
} from "./metering";

/** One effective-dated version of a plan's rates (micro-units of the currency per unit). */
export interface RateVersion {
	id: string;
	effectiveAtMicros: bigint;
	rates: Record<Meter, bigint>;
	taxRatePpm: bigint;
}

export interface RatedLine {
	meter: Meter;
	versionId: string;
	quantityNanos: bigint;
	unitPriceMicros: bigint;
	amountMicros: bigint;
}

export interface VersionSlice {
	version: RateVersion;
	fromMicros: bigint;
	toMicros: bigint;
}

/** Versions ordered by `effectiveAtMicros`, earliest first. */
export function sortVersions(versions: readonly RateVersion[]): RateVersion[] {
	return [...versions].sort((a, b) => (a.effectiveAtMicros < b.effectiveAtMicros ? -1 : 1));
}

/**
 * The parts of [from, to) each version applies to: a version from its `effective_at` until the
 * next one's; the earliest also covers everything before it, so every instant has a rate.
 */
export function versionSlices(versions: readonly RateVersion[], fromMicros: bigint, toMicros: bigint): VersionSlice[] {
	const sorted = sortVersions(versions);
	const slices: VersionSlice[] = [];
	sorted.forEach((version, index) => {
		const begins = index === 0 ? fromMicros : version.effectiveAtMicros;
		const next = sorted[index + 1]?.effectiveAtMicros;
		const start = begins > fromMicros ? begins : fromMicros;
		const end = next !== undefined && next < toMicros ? next : toMicros;
		if (end > start) slices.push({ version, fromMicros: start, toMicros: end });
	});
	return slices;
}

/** The version in effect at an instant (the earliest if the instant precedes them all). */
export function versionAt(versions: readonly RateVersion[], atMicros: bigint): RateVersion | undefined {
	const sorted = sortVersions(versions);
	let found = sorted[0];
	for (const version of sorted) if (version.effectiveAtMicros <= atMicros) found = version;
	return found;
}

/**
 * The usage lines of a period: per rate version and meter, the exact usage in the version's part
 * of the period as a quantity (rounded half to even to nano-units), and its amount, the quantity
 * times the rate rounded half to even to the currency's minor unit. Zero quantities make no line,
 * and neither does energy under a version that does not charge for it: the invoice shows the
 * month's kWh as an information line anyway, so a zero-priced usage line would only repeat it.
 */
export function rateUsage(
	lifetimes: readonly ResourceLifetime[],
	energy: readonly EnergyHour[],
	versions: readonly RateVersion[],
	fromMicros: bigint,
	toMicros: bigint,
	currency: string,
): RatedLine[] {
	const lines: RatedLine[] = [];
	for (const slice of versionSlices(versions, fromMicros, toMicros)) {
		const totals = zeroTotals();
		for (const lifetime of lifetimes) accumulateUsage(totals, lifetime, slice.fromMicros, slice.toMicros);
		accumulateEnergy(totals, energy, slice.fromMicros, slice.toMicros);
		for (const meter of METERS) {
			const quantity = quantityNanos(meter, totals[meter]);
			const unitPriceMicros = slice.version.rates[meter];
			if (quantity === 0n || (meter === "energy_kwh" && unitPriceMicros === 0n)) continue;
			lines.push({
				meter,
				versionId: slice.version.id,
				quantityNanos: quantity,
				unitPriceMicros,
				amountMicros: lineAmountMicros(quantity, unitPriceMicros, currency),
			});
		}
	}
	return lines;
}

export interface InvoiceTotals {
	subtotalMicros: bigint;
	taxMicros: bigint;
	totalMicros: bigint;
}

/** Subtotal of the rounded lines; the tax on it, rounded once; their sum. */
export function invoiceTotals(amounts: readonly bigint[], taxRatePpm: bigint, currency: string): InvoiceTotals {
	const subtotalMicros = amounts.reduce((sum, amount) => sum + amount, 0n);
	const tax = taxMicros(subtotalMicros, taxRatePpm, currency);
	return { subtotalMicros, taxMicros: tax, totalMicros: subtotalMicros + tax };
}
