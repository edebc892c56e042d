import type { SupplySource } from "./types";

/**
 * A methodology version: every coefficient the attribution uses. Versions are never edited once
 * published; a change of rule or coefficient is a new version, and every row names the version
 * it was computed with, so old rows stay explainable. `GET /v1/methodology` serves this list.
 */
export interface Methodology {
	version: string;
	/** First hour (UTC) the version applies to. */
	effectiveFrom: string;
	/** Weights that share a host's idle energy and embodied carbon by reserved size. */
	idleWeights: { wattsPerVcpu: number; wattsPerGbMemory: number };
	/** Storage energy per storage class, Wh per TB (10^12 bytes) allocated per hour. */
	storageWhPerTbHour: Readonly<Record<string, number>>;
	/** For a storage class missing from `storageWhPerTbHour`. */
	defaultStorageWhPerTbHour: number;
	/** For a host without a power profile (its rows are marked estimated). */
	defaultHostPower: { idleW: number; maxW: number };
	/** Scope 1: grams of CO2e per kWh the site's diesel generators deliver. */
	dieselGco2ePerKwh: number;
	/**
	 * Scope 2 market-based factor for grid import: the residual mix when one is published for
	 * the grid; null: no residual mix exists, so the hour's location-based factor is used.
	 */
	residualMixGco2ePerKwh: number | null;
	/** Supply sources counted as carbon-free energy within the same hour. */
	carbonFreeSources: readonly SupplySource[];
	/** Hours over which a host's embodied carbon is spread per year of its service life. */
	hoursPerYear: number;
}

export const METHODOLOGIES: readonly Methodology[] = [
	{
		version: "2026.1",
		effectiveFrom: "2026-01-01T00:00:00Z",
		// Cloud Carbon Footprint's memory coefficient and a per-vCPU idle figure of the same source.
		idleWeights: { wattsPerVcpu: 0.74, wattsPerGbMemory: 0.392 },
		// Cloud Carbon Footprint's SSD and HDD coefficients; NVMe drives draw like SSDs per TB.
		storageWhPerTbHour: { ssd: 1.2, nvme: 1.2, hdd: 0.65 },
		defaultStorageWhPerTbHour: 1.2,
		// A generic two-socket server (SPECpower-class figures): conservative on purpose.
		defaultHostPower: { idleW: 130, maxW: 400 },
		// IPCC 2006 default for gas/diesel oil, 74.1 t CO2 per TJ, through a 35 % efficient genset.
		dieselGco2ePerKwh: 762,
		residualMixGco2ePerKwh: null,
		// The site's battery is charged only from its own wind and solar.
		carbonFreeSources: ["wind", "solar", "battery"],
		hoursPerYear: 8760,
	},
];

const latest = METHODOLOGIES[METHODOLOGIES.length - 1];
if (latest === undefined) throw new Error("no methodology version");
export const CURRENT_METHODOLOGY: Methodology = latest;

/** The version with this name, or undefined. */
export function methodologyByVersion(version: string): Methodology | undefined {
	return METHODOLOGIES.find((methodology) => methodology.version === version);
}

/** The version in effect for an hour: the latest whose `effectiveFrom` is not after it. */
export function methodologyForHour(hour: string): Methodology {
	const at = Date.parse(hour);
	let found: Methodology = METHODOLOGIES[0] ?? CURRENT_METHODOLOGY;
	for (const methodology of METHODOLOGIES) if (Date.parse(methodology.effectiveFrom) <= at) found = methodology;
	return found;
}
