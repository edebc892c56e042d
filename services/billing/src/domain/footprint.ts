import { QUANTITY_SCALE } from "./metering";

/**
 * Every invoice shows the month's energy and carbon as information lines: priced at zero, never
 * part of the subtotal, never adjusted later (they state the ledger's figures as of the
 * invoice). The figures come from the energy ledger's rows of the tenant's resources whose hour
 * starts inside the month, provisional hours included; a month with no ledger rows shows zeros.
 */

export const INFORMATION_METERS = [
	"energy_kwh",
	"co2e_scope1",
	"co2e_scope2_location",
	"co2e_scope2_market",
	"co2e_embodied",
] as const;
export type InformationMeter = (typeof INFORMATION_METERS)[number];

/** A tenant's ledger totals over a period: Wh, and milligrams of CO2e. */
export interface Footprint {
	wh: bigint;
	scope1Mg: bigint;
	scope2LocationMg: bigint;
	scope2MarketMg: bigint;
	embodiedMg: bigint;
}

export interface InformationLine {
	meter: InformationMeter;
	unit: string;
	quantityNanos: bigint;
}

/** Wh = 10^-3 kWh and mg = 10^-3 g, so both are 10^6 nano-units of the line's unit. */
const NANOS_PER_MILLI = 10n ** BigInt(QUANTITY_SCALE - 3);

export function isEmptyFootprint(footprint: Footprint): boolean {
	return Object.values(footprint).every((value) => value === 0n);
}

/** The five information lines of an invoice, zeros included, in a fixed order. */
export function informationLines(footprint: Footprint): InformationLine[] {
	const quantities: Record<InformationMeter, bigint> = {
		energy_kwh: footprint.wh,
		co2e_scope1: footprint.scope1Mg,
		co2e_scope2_location: footprint.scope2LocationMg,
		co2e_scope2_market: footprint.scope2MarketMg,
		co2e_embodied: footprint.embodiedMg,
	};
	return INFORMATION_METERS.map((meter) => ({
		meter,
		unit: meter === "energy_kwh" ? "kWh" : "gCO2e",
		quantityNanos: quantities[meter] * NANOS_PER_MILLI,
	}));
}
