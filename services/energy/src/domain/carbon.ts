import { MICRO, roundedQuotient, sum, toMicros } from "./apportion";
import type { Methodology } from "./methodology";
import { SUPPLY_SOURCES, type SupplyWh } from "./types";

/**
 * The site's operational carbon and carbon-free energy for one hour, from its supply mix.
 * Wh x g/kWh = mg, so a supply in Wh times a factor in g/kWh is milligrams directly.
 *
 * - Scope 1: what the site's own diesel generators emitted (diesel Wh x the diesel factor).
 *   Wind, solar and the battery (charged from them) burn nothing on site.
 * - Scope 2 location-based: grid import x the hour's grid factor.
 * - Scope 2 market-based: on-site renewables are contractual zero; grid import carries the
 *   residual mix when the methodology names one, else the hour's grid factor (no certificates
 *   are bought for grid import, and the grid has no published residual mix).
 * - CFE fraction: carbon-free supply / all supply within the hour; no surplus of one hour
 *   counts in another.
 */
export interface SiteCarbon {
	scope1Mg: bigint;
	scope2LocationMg: bigint;
	scope2MarketMg: bigint;
	cfeFraction: number;
	/** The meter's carbon-free part: meter x carbon-free supply / all supply, rounded. */
	cfeWh: bigint;
}

function emittedMg(wh: number, gco2ePerKwh: number): bigint {
	return roundedQuotient(BigInt(wh) * toMicros(gco2ePerKwh), MICRO);
}

export function siteCarbon(
	supply: SupplyWh,
	gridGco2ePerKwh: number,
	meterWh: bigint,
	methodology: Methodology,
): SiteCarbon {
	const scope2LocationMg = emittedMg(supply.grid, gridGco2ePerKwh);
	const scope2MarketMg =
		methodology.residualMixGco2ePerKwh === null
			? scope2LocationMg
			: emittedMg(supply.grid, methodology.residualMixGco2ePerKwh);
	const allSupply = sum(SUPPLY_SOURCES.map((source) => BigInt(supply[source])));
	const carbonFree = sum(methodology.carbonFreeSources.map((source) => BigInt(supply[source])));
	// No supply reported: nothing can be shown carbon-free.
	const cfeWh = allSupply === 0n ? 0n : roundedQuotient(meterWh * carbonFree, allSupply);
	return {
		scope1Mg: emittedMg(supply.diesel, methodology.dieselGco2ePerKwh),
		scope2LocationMg,
		scope2MarketMg,
		cfeFraction: allSupply === 0n ? 0 : Number(carbonFree) / Number(allSupply),
		cfeWh,
	};
}
