import { type SiteHourInput, SUPPLY_SOURCES } from "./types";

/** Input the attribution cannot share honestly (the routes refuse it earlier with a 400). */
export class AttributionInputError extends RangeError {
	override readonly name = "AttributionInputError";
}

const SECONDS_PER_HOUR = 3600;
const ON_THE_HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}:00:00(?:\.0+)?(?:Z|[+-]00:00)$/;

function count(value: number, what: string): void {
	if (!Number.isSafeInteger(value) || value < 0) throw new AttributionInputError(`${what} must be a whole number >= 0`);
}

function finite(value: number, what: string): void {
	if (!Number.isFinite(value) || value < 0) throw new AttributionInputError(`${what} must be a number >= 0`);
}

function unique(ids: readonly string[], what: string): void {
	if (new Set(ids).size !== ids.length) throw new AttributionInputError(`${what} appear more than once`);
}

/** Throws `AttributionInputError` on anything that would make a share undefined or negative. */
export function validateSiteHour(input: SiteHourInput): void {
	if (!ON_THE_HOUR.test(input.hour)) throw new AttributionInputError("hour must be on the hour, UTC");
	count(input.siteWh, "siteWh");
	for (const source of SUPPLY_SOURCES) count(input.supplyWh[source], `supplyWh.${source}`);
	finite(input.gridGco2ePerKwh, "gridGco2ePerKwh");
	unique(
		input.hosts.map((host) => host.hostId),
		"hosts",
	);
	unique(
		input.volumes.map((volume) => volume.volumeId),
		"volumes",
	);
	for (const host of input.hosts) {
		const at = `host ${host.hostId}`;
		if (host.measuredWh !== null) count(host.measuredWh, `${at} measuredWh`);
		if ((host.powerIdleW === null) !== (host.powerMaxW === null))
			throw new AttributionInputError(`${at} needs both power figures or neither`);
		if (host.powerIdleW !== null && host.powerMaxW !== null) {
			count(host.powerIdleW, `${at} powerIdleW`);
			count(host.powerMaxW, `${at} powerMaxW`);
			if (host.powerMaxW < host.powerIdleW) throw new AttributionInputError(`${at} powerMaxW is below powerIdleW`);
		}
		finite(host.utilisation, `${at} utilisation`);
		if (host.utilisation > 1) throw new AttributionInputError(`${at} utilisation is above 1`);
		count(host.capacityVcpus, `${at} capacityVcpus`);
		count(host.capacityMemoryMib, `${at} capacityMemoryMib`);
		if (host.embodiedKgco2e !== null) finite(host.embodiedKgco2e, `${at} embodiedKgco2e`);
		if (host.lifetimeYears !== null) finite(host.lifetimeYears, `${at} lifetimeYears`);
		unique(
			host.instances.map((instance) => instance.instanceId),
			`instances on ${at}`,
		);
		for (const instance of host.instances) {
			const of = `instance ${instance.instanceId}`;
			count(instance.vcpus, `${of} vcpus`);
			count(instance.memoryMib, `${of} memoryMib`);
			count(instance.vcpuSeconds, `${of} vcpuSeconds`);
			count(instance.reservedSeconds, `${of} reservedSeconds`);
			if (instance.reservedSeconds > SECONDS_PER_HOUR)
				throw new AttributionInputError(`${of} reservedSeconds is above an hour`);
		}
	}
	for (const volume of input.volumes)
		count(volume.allocatedGibSeconds, `volume ${volume.volumeId} allocatedGibSeconds`);
}
