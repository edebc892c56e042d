import type { Db } from "@igoudar/db";
import { hosts, instances, placementGroups, tenants, zones } from "@igoudar/db";
import { and, eq, inArray, isNotNull, isNull, notInArray, type SQL, sql } from "drizzle-orm";

export interface Size {
	vcpus: number;
	memoryMib: number;
	diskGib: number;
}

/** Capacity after allocation ratios, as SQL, so the filter and the claim use one definition. */
const vcpuCapacity = sql`floor(${hosts.vcpus} * ${hosts.cpuAllocationRatio})`;
const memoryCapacity = sql`floor(${hosts.memoryMib} * ${hosts.memoryAllocationRatio})`;

function fits(size: Size) {
	return and(
		sql`${hosts.vcpusUsed} + ${size.vcpus} <= ${vcpuCapacity}`,
		sql`${hosts.memoryMibUsed} + ${size.memoryMib} <= ${memoryCapacity}`,
		sql`${hosts.diskGibUsed} + ${size.diskGib} <= ${hosts.diskGib}`,
	);
}

export interface CandidateFilter {
	size: Size;
	zoneId?: string;
	/** Allowed jurisdictions; null means anywhere. */
	jurisdictions: string[] | null;
	/** Hosts that must not be used (anti-affinity). */
	excludeHostIds: string[];
	/** The only host that may be used (affinity), when the group already has members. */
	onlyHostId?: string;
	strategy: "spread" | "pack";
}

function candidateWhere(filter: CandidateFilter) {
	return and(
		eq(hosts.status, "enabled"),
		fits(filter.size),
		filter.zoneId ? eq(hosts.zoneId, filter.zoneId) : undefined,
		filter.jurisdictions ? inArray(zones.jurisdiction, filter.jurisdictions) : undefined,
		filter.excludeHostIds.length > 0 ? notInArray(hosts.id, filter.excludeHostIds) : undefined,
		filter.onlyHostId ? eq(hosts.id, filter.onlyHostId) : undefined,
	);
}

/**
 * Spread puts the instance on the least loaded host (by the larger of its cpu and memory
 * fractions), pack on the most loaded one that still fits; ties go to the lowest id.
 */
function weighing(filter: CandidateFilter) {
	const load = sql`greatest(
		(${hosts.vcpusUsed} + ${filter.size.vcpus})::float8 / nullif(${vcpuCapacity}, 0),
		(${hosts.memoryMibUsed} + ${filter.size.memoryMib})::float8 / nullif(${memoryCapacity}, 0)
	)`;
	return [filter.strategy === "pack" ? sql`${load} desc` : sql`${load} asc`, hosts.id] as const;
}

export interface PlacedHost {
	id: string;
	zoneId: string;
	zoneName: string;
}

/**
 * How many fitting hosts one placement weighs. A larger fleet is weighed a window at a time,
 * as kube-scheduler scores a share of the nodes: each decision reads a bounded slice of the
 * primary key instead of sorting the whole fleet, and a fleet this small or smaller is weighed
 * whole, as before.
 */
export const PLACEMENT_WINDOW = 256;

/**
 * Where the next window starts: after the host this process placed on last, wrapping around, so
 * successive decisions sweep the fleet (kube-scheduler's round-robin start). Shared by parallel
 * requests, which SKIP LOCKED then spreads over the window.
 */
let windowStart = "00000000-0000-0000-0000-000000000000";

/** The ids of the next `PLACEMENT_WINDOW` fitting hosts from `windowStart`, wrapping around. */
function placementWindow(db: Db, filter: CandidateFilter): SQL {
	const slice = (part: SQL) =>
		db
			.select({ id: hosts.id })
			.from(hosts)
			.innerJoin(zones, eq(zones.id, hosts.zoneId))
			.where(and(candidateWhere(filter), part))
			.orderBy(hosts.id)
			.limit(PLACEMENT_WINDOW);
	return sql`select id from ((${slice(sql`${hosts.id} > ${windowStart}`)}) union all (${slice(
		sql`${hosts.id} <= ${windowStart}`,
	)})) as w limit ${PLACEMENT_WINDOW}`;
}

/**
 * Filter, weigh and claim in one statement: among the next `PLACEMENT_WINDOW` hosts that fit,
 * the best one that no other transaction is claiming right now (SKIP LOCKED), raised by the size.
 * Parallel creates so take different hosts instead of queueing on the best one. Undefined when
 * every fitting host of the window is locked or none fits: the caller then falls back to
 * `candidateHosts`, which weighs the whole fleet and waits for locks.
 */
export async function claimBestHost(db: Db, filter: CandidateFilter): Promise<PlacedHost | undefined> {
	const window = placementWindow(db, filter);
	const best = db
		.select({ id: hosts.id })
		.from(hosts)
		// The window's filter again, on the row as locked: it may have changed since the window was read.
		// `= any(array(...))`: the window's few ids then come by primary key, not by a scan of the fleet.
		.where(and(sql`${hosts.id} = any(array(${window}))`, eq(hosts.status, "enabled"), fits(filter.size)))
		.orderBy(...weighing(filter))
		.limit(1)
		.for("update", { of: hosts, skipLocked: true });
	const [row] = await db
		.update(hosts)
		.set(claimedBy(filter.size))
		.from(zones)
		.where(and(eq(hosts.id, sql`(${best})`), eq(zones.id, hosts.zoneId)))
		.returning({ id: hosts.id, zoneId: hosts.zoneId, zoneName: zones.name });
	if (row) windowStart = row.id;
	return row;
}

/** A host as a batch of placements weighs it: its capacity after ratios and its usage. */
interface WeighedHost extends PlacedHost {
	vcpuCapacity: number;
	memoryCapacity: number;
	diskGib: number;
	vcpusUsed: number;
	memoryMibUsed: number;
	diskGibUsed: number;
}

/**
 * `claimBestHost` for `count` instances of one size and filter, in two statements whatever the
 * count: the `count` best fitting hosts of the window that no other transaction is claiming are
 * locked (SKIP LOCKED), then weighed again here one instance at a time, exactly as `weighing`
 * ranks them, each placement counting against the host it took; then one UPDATE raises each
 * host by what it took, re-checking that it fits. Spread and pack so place the batch where
 * successive claims would have. Undefined when the locked hosts cannot take them all: the
 * caller then places one instance at a time, which may wait for locked hosts.
 */
export async function claimHostsFor(db: Db, filter: CandidateFilter, count: number): Promise<PlacedHost[] | undefined> {
	const size = filter.size;
	const locked: WeighedHost[] = await db
		.select({
			id: hosts.id,
			zoneId: hosts.zoneId,
			zoneName: zones.name,
			vcpuCapacity: sql<number>`${vcpuCapacity}::float8`.mapWith(Number),
			memoryCapacity: sql<number>`${memoryCapacity}::float8`.mapWith(Number),
			diskGib: hosts.diskGib,
			vcpusUsed: hosts.vcpusUsed,
			memoryMibUsed: hosts.memoryMibUsed,
			diskGibUsed: hosts.diskGibUsed,
		})
		.from(hosts)
		.innerJoin(zones, eq(zones.id, hosts.zoneId))
		.where(and(sql`${hosts.id} = any(array(${placementWindow(db, filter)}))`, eq(hosts.status, "enabled"), fits(size)))
		.orderBy(...weighing(filter))
		.limit(count)
		.for("update", { of: hosts, skipLocked: true });
	const placed: WeighedHost[] = [];
	for (let i = 0; i < count; i++) {
		const host = bestOf(locked, filter);
		if (!host) return undefined;
		host.vcpusUsed += size.vcpus;
		host.memoryMibUsed += size.memoryMib;
		host.diskGibUsed += size.diskGib;
		placed.push(host);
	}
	const taken = new Map<string, number>();
	for (const host of placed) taken.set(host.id, (taken.get(host.id) ?? 0) + 1);
	const ids = [...taken.keys()];
	const counts = ids.map((id) => taken.get(id) ?? 0);
	const result = await db.execute(sql`
		update ${hosts} set
			vcpus_used = ${hosts.vcpusUsed} + ${size.vcpus} * t.n,
			memory_mib_used = ${hosts.memoryMibUsed} + ${size.memoryMib} * t.n,
			disk_gib_used = ${hosts.diskGibUsed} + ${size.diskGib} * t.n,
			instance_count = ${hosts.instanceCount} + t.n,
			updated_at = now()
		from unnest(${sql.param(ids)}::uuid[], ${sql.param(counts)}::int[]) as t(id, n)
		where ${hosts.id} = t.id and ${hosts.status} = 'enabled'
			and ${hosts.vcpusUsed} + ${size.vcpus} * t.n <= ${vcpuCapacity}
			and ${hosts.memoryMibUsed} + ${size.memoryMib} * t.n <= ${memoryCapacity}
			and ${hosts.diskGibUsed} + ${size.diskGib} * t.n <= ${hosts.diskGib}
		returning ${hosts.id}`);
	if ((result as unknown as { rows: unknown[] }).rows.length !== ids.length) return undefined;
	const last = placed[placed.length - 1];
	if (last) windowStart = last.id;
	return placed.map(({ id, zoneId, zoneName }) => ({ id, zoneId, zoneName }));
}

/** The host `weighing` ranks first among those `size` still fits, or undefined. */
function bestOf(candidates: readonly WeighedHost[], filter: CandidateFilter): WeighedHost | undefined {
	const { size } = filter;
	let best: WeighedHost | undefined;
	let bestLoad = 0;
	for (const host of candidates) {
		if (
			host.vcpusUsed + size.vcpus > host.vcpuCapacity ||
			host.memoryMibUsed + size.memoryMib > host.memoryCapacity ||
			host.diskGibUsed + size.diskGib > host.diskGib
		) {
			continue;
		}
		// As SQL's greatest() of the two fractions, where a zero capacity is null and ignored.
		const fractions = [
			host.vcpuCapacity > 0 ? (host.vcpusUsed + size.vcpus) / host.vcpuCapacity : undefined,
			host.memoryCapacity > 0 ? (host.memoryMibUsed + size.memoryMib) / host.memoryCapacity : undefined,
		].filter((f): f is number => f !== undefined);
		const load = fractions.length > 0 ? Math.max(...fractions) : Number.POSITIVE_INFINITY;
		const better =
			best === undefined ||
			(filter.strategy === "pack" ? load > bestLoad : load < bestLoad) ||
			(load === bestLoad && host.id < best.id);
		if (better) {
			best = host;
			bestLoad = load;
		}
	}
	return best;
}

/**
 * Filter and weigh (see `weighing`). This read is only a ranking: the claim that follows
 * re-checks everything in one conditional UPDATE.
 */
export async function candidateHosts(db: Db, filter: CandidateFilter, limit = 16): Promise<PlacedHost[]> {
	return db
		.select({ id: hosts.id, zoneId: hosts.zoneId, zoneName: zones.name })
		.from(hosts)
		.innerJoin(zones, eq(zones.id, hosts.zoneId))
		.where(candidateWhere(filter))
		.orderBy(...weighing(filter))
		.limit(limit);
}

function claimedBy(size: Size) {
	return {
		vcpusUsed: sql`${hosts.vcpusUsed} + ${size.vcpus}`,
		memoryMibUsed: sql`${hosts.memoryMibUsed} + ${size.memoryMib}`,
		diskGibUsed: sql`${hosts.diskGibUsed} + ${size.diskGib}`,
		instanceCount: sql`${hosts.instanceCount} + 1`,
		updatedAt: new Date(),
	};
}

/** Claims room on one host, or returns false if it no longer fits (or was disabled meanwhile). */
export async function claimHostCapacity(db: Db, hostId: string, size: Size): Promise<boolean> {
	const claimed = await db
		.update(hosts)
		.set(claimedBy(size))
		.where(and(eq(hosts.id, hostId), eq(hosts.status, "enabled"), fits(size)))
		.returning({ id: hosts.id });
	return claimed.length === 1;
}

export async function releaseHostCapacity(db: Db, hostId: string, size: Size): Promise<void> {
	await db
		.update(hosts)
		.set({
			vcpusUsed: sql`greatest(${hosts.vcpusUsed} - ${size.vcpus}, 0)`,
			memoryMibUsed: sql`greatest(${hosts.memoryMibUsed} - ${size.memoryMib}, 0)`,
			diskGibUsed: sql`greatest(${hosts.diskGibUsed} - ${size.diskGib}, 0)`,
			instanceCount: sql`greatest(${hosts.instanceCount} - 1, 0)`,
			updatedAt: new Date(),
		})
		.where(eq(hosts.id, hostId));
}

/**
 * The tenant's data residency, with the tenant row held FOR KEY SHARE until commit: a tenant
 * delete waits for the create, then sees its instance.
 */
export async function lockTenantForPlacement(
	tx: Db,
	tenantId: string,
): Promise<{ dataResidency: string[] | null } | undefined> {
	const [tenant] = await tx
		.select({ dataResidency: tenants.dataResidency })
		.from(tenants)
		.where(eq(tenants.id, tenantId))
		.limit(1)
		.for("key share");
	return tenant;
}

/**
 * Locks the placement group for the rest of the transaction and returns the hosts its live
 * members hold. Creates into one group are serialised by this lock, which is what makes affinity
 * and anti-affinity hold under parallel requests.
 */
export async function lockPlacementGroup(
	db: Db,
	tenantId: string,
	groupId: string,
): Promise<{ name: string; policy: "affinity" | "anti-affinity"; memberHostIds: string[] } | undefined> {
	const [group] = await db
		.select({ id: placementGroups.id, name: placementGroups.name, policy: placementGroups.policy })
		.from(placementGroups)
		.where(and(eq(placementGroups.id, groupId), eq(placementGroups.tenantId, tenantId)))
		.for("update");
	if (!group) return undefined;
	const members = await db
		.selectDistinct({ hostId: instances.hostId })
		.from(instances)
		.where(and(eq(instances.placementGroupId, groupId), isNull(instances.deletedAt), isNotNull(instances.hostId)));
	return {
		name: group.name,
		policy: group.policy,
		memberHostIds: members.map((m) => m.hostId).filter((h): h is string => h !== null),
	};
}
