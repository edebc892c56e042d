import type { LifecycleEvent } from "@igoudar/billing";
import type { Db } from "@igoudar/db";
import { energySiteZones, hosts, instanceEvents, instances, snapshots, storageEvents, volumes } from "@igoudar/db";
import { and, eq, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import { rowsOf } from "./sql";

/**
 * What the attribution of a site-hour reads: the hosts of the site's zones, and the lifecycle
 * events of the instances on them and of the volumes and snapshots in those zones, recorded by
 * the database triggers in the transaction of every change (the lifetimes billing meters).
 */

/** An instant in microseconds since the epoch, exactly, as a timestamptz. */
const atMicros = (micros: bigint) =>
	sql`(timestamptz 'epoch' + ${micros.toString()}::bigint * interval '1 microsecond')`;
/** A timestamptz as exact microseconds since the epoch (text, so no float carries it). */
const microsOf = (column: SQL) => sql<string>`((extract(epoch from ${column}) * 1000000)::bigint)::text`;
const list = (values: string[]) =>
	sql.join(
		values.map((value) => sql`${value}::uuid`),
		sql`, `,
	);

export interface SiteHostRow {
	id: string;
	zoneId: string;
	vcpus: number;
	memoryMib: number;
	cpuAllocationRatio: number;
	memoryAllocationRatio: number;
	powerIdleW: number | null;
	powerMaxW: number | null;
	embodiedKgco2e: number | null;
	lifetimeYears: number | null;
}

/**
 * Hosts standing in the site's zones that existed before the hour ended or sent a reading for it
 * (a host added later must not be estimated into hours it was not there for).
 */
export async function siteHosts(db: Db, siteId: string, hourEnd: Date, readHostIds: string[]): Promise<SiteHostRow[]> {
	return db
		.select({
			id: hosts.id,
			zoneId: hosts.zoneId,
			vcpus: hosts.vcpus,
			memoryMib: hosts.memoryMib,
			cpuAllocationRatio: hosts.cpuAllocationRatio,
			memoryAllocationRatio: hosts.memoryAllocationRatio,
			powerIdleW: hosts.powerIdleW,
			powerMaxW: hosts.powerMaxW,
			embodiedKgco2e: hosts.embodiedKgco2e,
			lifetimeYears: hosts.lifetimeYears,
		})
		.from(hosts)
		.innerJoin(energySiteZones, and(eq(energySiteZones.zoneId, hosts.zoneId), eq(energySiteZones.siteId, siteId)))
		.where(
			readHostIds.length > 0
				? or(lt(hosts.createdAt, hourEnd), inArray(hosts.id, readHostIds))
				: lt(hosts.createdAt, hourEnd),
		)
		.orderBy(hosts.id);
}

/** An instance's events with the host each one left it on. */
export interface InstanceTrack {
	instanceId: string;
	tenantId: string;
	vcpus: number;
	memoryMib: number;
	events: (LifecycleEvent & { hostId: string | null })[];
}

interface InstanceEventRow {
	instance_id: string;
	tenant_id: string;
	status: string;
	at_micros: string;
	host_id: string | null;
	vcpus: number;
	memory_mib: number;
}

/**
 * The events before `toMicros` of every instance that was ever placed on one of the hosts, leaving
 * out instances whose lifetime ended (`deleted`) at or before `fromMicros`.
 */
export async function instanceTracks(
	db: Db,
	hostIds: string[],
	fromMicros: bigint,
	toMicros: bigint,
): Promise<InstanceTrack[]> {
	if (hostIds.length === 0) return [];
	const to = atMicros(toMicros);
	const rows = rowsOf<InstanceEventRow>(
		await db.execute(sql`
		select e.instance_id, e.tenant_id, e.status, ${microsOf(sql`e.at`)} as at_micros, e.host_id, i.vcpus, i.memory_mib
		from ${instanceEvents} e
		join ${instances} i on i.id = e.instance_id
		where e.instance_id in (
				select p.instance_id from ${instanceEvents} p where p.host_id in (${list(hostIds)}) and p.at < ${to}
			)
			and e.at < ${to}
			and not exists (
				select 1 from ${instanceEvents} d
				where d.instance_id = e.instance_id and d.status = 'deleted' and d.at <= ${atMicros(fromMicros)}
			)
		order by e.instance_id, e.at, e.id`),
	);
	const tracks: InstanceTrack[] = [];
	let current: InstanceTrack | undefined;
	for (const row of rows) {
		if (current?.instanceId !== row.instance_id) {
			current = {
				instanceId: row.instance_id,
				tenantId: row.tenant_id,
				vcpus: row.vcpus,
				memoryMib: row.memory_mib,
				events: [],
			};
			tracks.push(current);
		}
		current.events.push({ status: row.status, atMicros: BigInt(row.at_micros), sizeGib: null, hostId: row.host_id });
	}
	return tracks;
}

/** A volume's or snapshot's events with where it stands and what class of storage holds it. */
export interface StorageTrack {
	type: "volume" | "snapshot";
	id: string;
	tenantId: string;
	zoneId: string;
	storageClass: string;
	events: LifecycleEvent[];
}

interface StorageEventRow {
	resource_type: "volume" | "snapshot";
	resource_id: string;
	tenant_id: string;
	status: string;
	at_micros: string;
	size_gib: number;
	zone_id: string;
	storage_class: string;
}

/** The events before `toMicros` of the volumes and snapshots in the zones, as `instanceTracks`. */
export async function storageTracks(
	db: Db,
	zoneIds: string[],
	fromMicros: bigint,
	toMicros: bigint,
): Promise<StorageTrack[]> {
	if (zoneIds.length === 0) return [];
	const rows = rowsOf<StorageEventRow>(
		await db.execute(sql`
		select e.resource_type, e.resource_id, e.tenant_id, e.status, ${microsOf(sql`e.at`)} as at_micros, e.size_gib,
			coalesce(v.zone_id, s.zone_id) as zone_id, coalesce(v.storage_class, s.storage_class) as storage_class
		from ${storageEvents} e
		left join ${volumes} v on e.resource_type = 'volume' and v.id = e.resource_id
		left join ${snapshots} s on e.resource_type = 'snapshot' and s.id = e.resource_id
		where coalesce(v.zone_id, s.zone_id) in (${list(zoneIds)})
			and e.at < ${atMicros(toMicros)}
			and not exists (
				select 1 from ${storageEvents} d
				where d.resource_id = e.resource_id and d.status = 'deleted' and d.at <= ${atMicros(fromMicros)}
			)
		order by e.resource_type, e.resource_id, e.at, e.id`),
	);
	const tracks: StorageTrack[] = [];
	let current: StorageTrack | undefined;
	for (const row of rows) {
		if (current?.id !== row.resource_id) {
			current = {
				type: row.resource_type,
				id: row.resource_id,
				tenantId: row.tenant_id,
				zoneId: row.zone_id,
				storageClass: row.storage_class,
				events: [],
			};
			tracks.push(current);
		}
		current.events.push({ status: row.status, atMicros: BigInt(row.at_micros), sizeGib: row.size_gib });
	}
	return tracks;
}
