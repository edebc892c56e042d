import { accumulateUsage, type ResourceLifetime, zeroTotals } from "@igoudar/billing";
import type { Db } from "@igoudar/db";
import {
	type InstanceTrack,
	instanceTracks,
	type SiteHostRow,
	type StorageTrack,
	siteHosts,
	storageTracks,
} from "../db/inputs";
import { hostReadingsOf, type SiteReadingRow } from "../db/readings";
import type { HostHour, InstanceHour, SiteHourInput, VolumeHour } from "../domain/types";
import { HOUR_MS } from "./hours";

const MICROS_PER_SECOND = 1_000_000n;
/** Statuses in which an instance holds no reservation, whatever its host column says. */
const UNRESERVED = new Set(["failed", "deleted"]);

const microsOf = (date: Date) => BigInt(date.getTime()) * 1000n;

/**
 * Microseconds within [from, to) during which the instance held its reservation on the host: from
 * an event that left it there in a reserving status to the next event.
 */
function reservedMicros(track: InstanceTrack, hostId: string, from: bigint, to: bigint): bigint {
	let total = 0n;
	track.events.forEach((event, index) => {
		if (event.hostId !== hostId || UNRESERVED.has(event.status)) return;
		const start = event.atMicros > from ? event.atMicros : from;
		const next = track.events[index + 1]?.atMicros ?? to;
		const end = next < to ? next : to;
		if (end > start) total += end - start;
	});
	return total;
}

/**
 * The instance's hour on one host. Running time is metered exactly as billing meters it (the
 * same lifetime rules), counting only the stretches the events place it on this host.
 */
function instanceHour(track: InstanceTrack, hostId: string, from: bigint, to: bigint): InstanceHour | undefined {
	const onHost: ResourceLifetime = {
		type: "instance",
		id: track.instanceId,
		vcpus: track.vcpus,
		memoryMib: track.memoryMib,
		events: track.events.map((event) => ({ ...event, status: event.hostId === hostId ? event.status : "elsewhere" })),
	};
	const vcpuMicros = accumulateUsage(zeroTotals(), onHost, from, to).vcpu_hours;
	const reserved = reservedMicros(track, hostId, from, to);
	if (vcpuMicros === 0n && reserved === 0n) return undefined;
	return {
		instanceId: track.instanceId,
		tenantId: track.tenantId,
		vcpus: track.vcpus,
		memoryMib: track.memoryMib,
		vcpuSeconds: Number(vcpuMicros / MICROS_PER_SECOND),
		reservedSeconds: Number(reserved / MICROS_PER_SECOND),
	};
}

function hostHour(
	host: SiteHostRow,
	tracks: InstanceTrack[],
	measuredWh: number | undefined,
	from: bigint,
	to: bigint,
): HostHour {
	const instances: InstanceHour[] = [];
	for (const track of tracks) {
		if (!track.events.some((event) => event.hostId === host.id)) continue;
		const hour = instanceHour(track, host.id, from, to);
		if (hour) instances.push(hour);
	}
	// As the hosts view estimates draw: running vCPUs over physical ones, full load at most.
	const usedVcpuSeconds = instances.reduce((total, instance) => total + instance.vcpuSeconds, 0);
	const utilisation = Math.min(1, usedVcpuSeconds / (host.vcpus * 3600));
	return {
		hostId: host.id,
		zoneId: host.zoneId,
		measuredWh: measuredWh ?? null,
		powerIdleW: host.powerIdleW !== null && host.powerMaxW !== null ? host.powerIdleW : null,
		powerMaxW: host.powerIdleW !== null && host.powerMaxW !== null ? host.powerMaxW : null,
		utilisation,
		capacityVcpus: Math.floor(host.vcpus * host.cpuAllocationRatio),
		capacityMemoryMib: Math.floor(host.memoryMib * host.memoryAllocationRatio),
		embodiedKgco2e: host.embodiedKgco2e,
		lifetimeYears: host.lifetimeYears,
		instances,
	};
}

function volumeHour(track: StorageTrack, from: bigint, to: bigint): VolumeHour | undefined {
	const lifetime: ResourceLifetime = {
		type: track.type,
		id: track.id,
		vcpus: null,
		memoryMib: null,
		events: track.events,
	};
	const totals = accumulateUsage(zeroTotals(), lifetime, from, to);
	const gibMicros = track.type === "volume" ? totals.volume_gib_months : totals.snapshot_gib_months;
	if (gibMicros === 0n) return undefined;
	return {
		volumeId: track.id,
		tenantId: track.tenantId,
		zoneId: track.zoneId,
		storageClass: track.storageClass,
		allocatedGibSeconds: Number(gibMicros / MICROS_PER_SECOND),
	};
}

/**
 * The site's hosts during the hour with their instances' use of them and their readings (none:
 * `measuredWh` null). The demo site reads it too, to make readings that follow the load.
 */
export async function loadHostHours(
	db: Db,
	siteId: string,
	hour: Date,
	readings: Map<string, number>,
): Promise<HostHour[]> {
	const from = microsOf(hour);
	const to = microsOf(new Date(hour.getTime() + HOUR_MS));
	const hosts = await siteHosts(db, siteId, new Date(hour.getTime() + HOUR_MS), [...readings.keys()]);
	const tracks = await instanceTracks(
		db,
		hosts.map((host) => host.id),
		from,
		to,
	);
	return hosts.map((host) => hostHour(host, tracks, readings.get(host.id), from, to));
}

export interface LoadedSiteHour {
	input: SiteHourInput;
	/** Ids of the snapshots among `input.volumes` (the domain prices both alike). */
	snapshotIds: Set<string>;
}

/** Reads everything one site-hour's attribution needs, in the caller's transaction. */
export async function loadSiteHour(
	db: Db,
	siteId: string,
	zoneIds: string[],
	hour: Date,
	reading: SiteReadingRow,
): Promise<LoadedSiteHour> {
	const hourEnd = new Date(hour.getTime() + HOUR_MS);
	const from = microsOf(hour);
	const to = microsOf(hourEnd);
	const readings = await hostReadingsOf(db, siteId, hour);
	const hosts = await loadHostHours(db, siteId, hour, readings);
	const storage = await storageTracks(db, zoneIds, from, to);
	const volumes = storage.flatMap((track) => volumeHour(track, from, to) ?? []);
	return {
		input: {
			siteId,
			hour: hour.toISOString(),
			siteWh: reading.siteWh,
			supplyWh: {
				wind: reading.windWh,
				solar: reading.solarWh,
				battery: reading.batteryWh,
				grid: reading.gridWh,
				diesel: reading.dieselWh,
			},
			gridGco2ePerKwh: reading.gridGco2ePerKwh,
			hosts,
			volumes,
		},
		snapshotIds: new Set(storage.filter((track) => track.type === "snapshot").map((track) => track.id)),
	};
}
