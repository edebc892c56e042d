import { apportion, MICRO, roundedQuotient, sum, toMicros } from "./apportion";
import type { Methodology } from "./methodology";
import type { HostHour, VolumeHour } from "./types";

/**
 * The physical figures of one hour before anything is shared: a host's energy and power
 * profile, a volume's estimated energy, a reservation's weight and a host's embodied carbon per
 * hour. All integer arithmetic; coefficients enter as millionths.
 */

export const SECONDS_PER_HOUR = 3600n;
const BYTES_PER_MIB = 1_048_576n;
const BYTES_PER_GIB = 1_073_741_824n;
const BYTES_PER_GB = 1_000_000_000n;
const BYTES_PER_TB = 1_000_000_000_000n;

export interface HostPower {
	idleW: bigint;
	maxW: bigint;
	/** The methodology's default profile stood in for a missing one. */
	defaulted: boolean;
}

export function hostPower(host: HostHour, methodology: Methodology): HostPower {
	if (host.powerIdleW === null || host.powerMaxW === null) {
		const { idleW, maxW } = methodology.defaultHostPower;
		return { idleW: BigInt(Math.round(idleW)), maxW: BigInt(Math.round(maxW)), defaulted: true };
	}
	return { idleW: BigInt(host.powerIdleW), maxW: BigInt(host.powerMaxW), defaulted: false };
}

export interface HostEnergy {
	wh: bigint;
	/** Energy from the fallback formula or a default profile rather than a reading alone. */
	estimated: boolean;
}

/** The reading, or without one `idle + (max - idle) x utilisation` over the hour, rounded. */
export function hostEnergy(host: HostHour, power: HostPower): HostEnergy {
	if (host.measuredWh !== null) return { wh: BigInt(host.measuredWh), estimated: power.defaulted };
	const dynamicMicroWh = (power.maxW - power.idleW) * toMicros(host.utilisation);
	return { wh: power.idleW + roundedQuotient(dynamicMicroWh, MICRO), estimated: true };
}

/**
 * The weight of a reservation in the idle split: `wattsPerVcpu x vCPUs + wattsPerGbMemory x GB`
 * held for `seconds`, in millionths of a watt times 10^9 bytes per GB times seconds, so memory
 * in MiB converts to GB without rounding.
 */
export function reservationWeight(vcpus: number, memoryMib: number, seconds: bigint, methodology: Methodology): bigint {
	const { wattsPerVcpu, wattsPerGbMemory } = methodology.idleWeights;
	const vcpuPart = BigInt(vcpus) * toMicros(wattsPerVcpu) * BYTES_PER_GB;
	const memoryPart = BigInt(memoryMib) * BYTES_PER_MIB * toMicros(wattsPerGbMemory);
	return (vcpuPart + memoryPart) * seconds;
}

/** A host's embodied carbon per hour of its service life, integer milligrams (halves up). */
export function embodiedMgPerHour(host: HostHour, methodology: Methodology): bigint {
	if (host.embodiedKgco2e === null || host.lifetimeYears === null || host.lifetimeYears <= 0) return 0n;
	// kg x 10^6 = mg, so micro-kilograms are milligrams already.
	const milligrams = toMicros(host.embodiedKgco2e);
	const lifetimeHoursMicros = toMicros(host.lifetimeYears) * BigInt(methodology.hoursPerYear);
	return roundedQuotient(milligrams * MICRO, lifetimeHoursMicros);
}

export function storageWhPerTbHour(storageClass: string, methodology: Methodology): number {
	return methodology.storageWhPerTbHour[storageClass] ?? methodology.defaultStorageWhPerTbHour;
}

/**
 * The volumes' estimated energy in integer Wh: their exact energies (GiB-seconds x the class's
 * Wh per TB-hour) summed and rounded once, then shared back by largest remainder, so the
 * rounding loses nothing against the exact sum.
 */
export function volumeEnergies(volumes: readonly VolumeHour[], methodology: Methodology): bigint[] {
	const exact = volumes.map(
		(volume) =>
			BigInt(volume.allocatedGibSeconds) *
			BYTES_PER_GIB *
			toMicros(storageWhPerTbHour(volume.storageClass, methodology)),
	);
	const denominator = BYTES_PER_TB * SECONDS_PER_HOUR * MICRO;
	const total = roundedQuotient(sum(exact), denominator);
	return apportion(
		total,
		volumes.map((volume, index) => ({ key: volume.volumeId, weight: exact[index] as bigint })),
	);
}
