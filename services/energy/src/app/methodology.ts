import { CURRENT_METHODOLOGY, METHODOLOGIES, type Methodology } from "../domain/methodology";

export function presentMethodology(methodology: Methodology) {
	return {
		version: methodology.version,
		effective_from: methodology.effectiveFrom,
		idle_weights: {
			watts_per_vcpu: methodology.idleWeights.wattsPerVcpu,
			watts_per_gb_memory: methodology.idleWeights.wattsPerGbMemory,
		},
		storage_wh_per_tb_hour: { ...methodology.storageWhPerTbHour },
		default_storage_wh_per_tb_hour: methodology.defaultStorageWhPerTbHour,
		default_host_power: { idle_w: methodology.defaultHostPower.idleW, max_w: methodology.defaultHostPower.maxW },
		diesel_gco2e_per_kwh: methodology.dieselGco2ePerKwh,
		residual_mix_gco2e_per_kwh: methodology.residualMixGco2ePerKwh,
		carbon_free_sources: [...methodology.carbonFreeSources],
		hours_per_year: methodology.hoursPerYear,
	};
}

/** Every published version with its coefficients, oldest first: each row names one of them. */
export function methodologyList() {
	return { current: CURRENT_METHODOLOGY.version, items: METHODOLOGIES.map(presentMethodology) };
}
