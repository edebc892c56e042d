import type { Db, InstanceStatus } from "@igoudar/db";
import { auditEvents, hosts, instances, operations, quotas } from "@igoudar/db";
import { OPEN_STATUSES } from "@igoudar/jobs";
import { and, asc, desc, eq, inArray, isNotNull, isNull, notExists, sql } from "drizzle-orm";

/**
 * Queries of the consistency audit: the counters as stored, and what the live resources add up
 * to. Reads for a report take no locks (they run in one snapshot, see `inSnapshot`); reads for a
 * repair take the same row locks, in the same order, as the claims and releases they correct.
 */

/** An instance holds quota and host capacity exactly while it is live and has a host. */
const holdsCapacity = and(isNull(instances.deletedAt), isNotNull(instances.hostId));

/**
 * Statuses a request sets in the transaction that opens an operation, and that the transaction
 * ending the operation moves on: an instance in one of them with no open operation is stuck.
 */
export const TRANSITIONAL_STATUSES = [
	"provisioning",
	"deleting",
	"starting",
	"stopping",
	"rebooting",
] as const satisfies readonly InstanceStatus[];

/**
 * Runs every read of a report in one read-only REPEATABLE READ transaction. Each claim or release
 * changes its counters and its instance in one transaction, so one snapshot sees both or neither:
 * a report is exact without blocking a single create.
 */
export function inSnapshot<T>(db: Db, read: (snapshot: Db) => Promise<T>): Promise<T> {
	return db.transaction(async (tx) => read(tx), { isolationLevel: "repeatable read", accessMode: "read only" });
}

export interface InstanceSizeCount {
	tenantId: string;
	hostId: string;
	vcpus: number;
	memoryMib: number;
	diskGib: number;
	count: number;
}

/**
 * Live instances holding capacity, counted per tenant, host and size: a handful of rows however
 * large the fleet, from which callers add up what the instances charge.
 */
export async function countInstancesHoldingCapacity(
	db: Db,
	scope: { tenantId?: string; hostId?: string } = {},
): Promise<InstanceSizeCount[]> {
	const rows = await db
		.select({
			tenantId: instances.tenantId,
			hostId: instances.hostId,
			vcpus: instances.vcpus,
			memoryMib: instances.memoryMib,
			diskGib: instances.diskGib,
			count: sql<number>`count(*)::int`,
		})
		.from(instances)
		.where(
			and(
				holdsCapacity,
				scope.tenantId ? eq(instances.tenantId, scope.tenantId) : undefined,
				scope.hostId ? eq(instances.hostId, scope.hostId) : undefined,
			),
		)
		.groupBy(instances.tenantId, instances.hostId, instances.vcpus, instances.memoryMib, instances.diskGib);
	return rows.flatMap((row) => (row.hostId ? [{ ...row, hostId: row.hostId }] : []));
}

export interface QuotaUsageRow {
	tenantId: string;
	resource: string;
	used: number;
}

/**
 * Stored usage of the given resources. With `lock`, one tenant's rows are locked in byte-wise
 * resource order, as `claimQuota` sorts them in JavaScript whatever the collation: a claim or
 * release half-way for the tenant finishes first, one that starts later waits.
 */
export async function readQuotaUsage(
	db: Db,
	resources: readonly string[],
	scope: { tenantId: string; lock: true } | { tenantId?: undefined; lock?: false } = {},
): Promise<QuotaUsageRow[]> {
	const query = db
		.select({ tenantId: quotas.tenantId, resource: quotas.resource, used: quotas.used })
		.from(quotas)
		.where(
			and(inArray(quotas.resource, [...resources]), scope.tenantId ? eq(quotas.tenantId, scope.tenantId) : undefined),
		)
		.orderBy(asc(quotas.tenantId), sql`${quotas.resource} collate "C"`);
	return scope.lock ? query.for("update") : query;
}

export async function setQuotaUsed(tx: Db, tenantId: string, resource: string, used: number): Promise<void> {
	await tx
		.update(quotas)
		.set({ used, updatedAt: new Date() })
		.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
}

/** What a host's allocation counts, named as the host view's `allocated` names them. */
export const HOST_ALLOCATION_RESOURCES = ["vcpus", "memory_mib", "disk_gib", "instances"] as const;

export type HostAllocation = Record<(typeof HOST_ALLOCATION_RESOURCES)[number], number>;

export interface HostAllocationRow {
	id: string;
	name: string;
	allocated: HostAllocation;
}

const allocationColumns = {
	id: hosts.id,
	name: hosts.name,
	vcpus: hosts.vcpusUsed,
	memoryMib: hosts.memoryMibUsed,
	diskGib: hosts.diskGibUsed,
	instances: hosts.instanceCount,
};

function toAllocationRow(row: {
	id: string;
	name: string;
	vcpus: number;
	memoryMib: number;
	diskGib: number;
	instances: number;
}): HostAllocationRow {
	return {
		id: row.id,
		name: row.name,
		allocated: { vcpus: row.vcpus, memory_mib: row.memoryMib, disk_gib: row.diskGib, instances: row.instances },
	};
}

export async function readHostAllocations(db: Db): Promise<HostAllocationRow[]> {
	const rows = await db.select(allocationColumns).from(hosts).orderBy(asc(hosts.id));
	return rows.map(toAllocationRow);
}

/** One host's allocation with its row locked: every claim and release on it waits. */
export async function lockHostAllocation(tx: Db, hostId: string): Promise<HostAllocationRow | undefined> {
	const [row] = await tx.select(allocationColumns).from(hosts).where(eq(hosts.id, hostId)).for("update");
	return row ? toAllocationRow(row) : undefined;
}

export async function setHostAllocation(tx: Db, hostId: string, allocated: HostAllocation): Promise<void> {
	await tx
		.update(hosts)
		.set({
			vcpusUsed: allocated.vcpus,
			memoryMibUsed: allocated.memory_mib,
			diskGibUsed: allocated.disk_gib,
			instanceCount: allocated.instances,
			updatedAt: new Date(),
		})
		.where(eq(hosts.id, hostId));
}

export interface LastOperation {
	id: string;
	kind: string;
	status: string;
	completedAt: Date | null;
}

export interface StuckInstanceRow {
	id: string;
	tenantId: string;
	hostId: string;
	status: InstanceStatus;
	updatedAt: Date;
	/** The most recent operation on the instance, whatever its status; null when it never had one. */
	lastOperation: LastOperation | null;
}

const openOperationOn = (instanceId: typeof instances.id | string) =>
	and(eq(operations.targetId, instanceId), inArray(operations.status, [...OPEN_STATUSES]));

/** Instances holding capacity in a transitional status with no operation open on them. */
export async function findStuckInstances(db: Db): Promise<StuckInstanceRow[]> {
	const rows = await db
		.select({
			id: instances.id,
			tenantId: instances.tenantId,
			hostId: instances.hostId,
			status: instances.status,
			updatedAt: instances.updatedAt,
		})
		.from(instances)
		.where(
			and(
				holdsCapacity,
				inArray(instances.status, [...TRANSITIONAL_STATUSES]),
				notExists(db.select({ one: sql`1` }).from(operations).where(openOperationOn(instances.id))),
			),
		)
		.orderBy(asc(instances.id));
	if (rows.length === 0) return [];
	const last = await db
		.selectDistinctOn([operations.targetId], {
			targetId: operations.targetId,
			id: operations.id,
			kind: operations.kind,
			status: operations.status,
			completedAt: operations.completedAt,
		})
		.from(operations)
		.where(
			inArray(
				operations.targetId,
				rows.map((row) => row.id),
			),
		)
		.orderBy(operations.targetId, desc(operations.createdAt), desc(operations.id));
	const byInstance = new Map(last.map(({ targetId, ...op }) => [targetId, op]));
	return rows.flatMap((row) =>
		row.hostId ? [{ ...row, hostId: row.hostId, lastOperation: byInstance.get(row.id) ?? null }] : [],
	);
}

/**
 * Locks the instance and returns it only if it is still stuck. The row lock comes first, as in
 * every release: a request that would open an operation on it (a conditional UPDATE of the same
 * row) waits, and one that committed before is seen by the check that follows.
 */
export async function lockStuckInstance(
	tx: Db,
	instanceId: string,
): Promise<{ status: InstanceStatus; tenantId: string; hostId: string } | undefined> {
	const [row] = await tx
		.select({ status: instances.status, tenantId: instances.tenantId, hostId: instances.hostId })
		.from(instances)
		.where(and(eq(instances.id, instanceId), holdsCapacity, inArray(instances.status, [...TRANSITIONAL_STATUSES])))
		.for("update");
	if (!row?.hostId) return undefined;
	const [open] = await tx.select({ id: operations.id }).from(operations).where(openOperationOn(instanceId)).limit(1);
	return open ? undefined : { status: row.status, tenantId: row.tenantId, hostId: row.hostId };
}

/**
 * An audit event written by the platform itself (the periodic check), in the caller's transaction;
 * requests record theirs through the kit with the calling principal.
 */
export async function recordSystemAudit(
	tx: Db,
	entry: { tenantId: string | null; action: string; targetType: string; targetId: string; detail: object },
): Promise<void> {
	await tx.insert(auditEvents).values({
		tenantId: entry.tenantId,
		actorId: "system",
		actorRole: "system",
		action: entry.action,
		targetType: entry.targetType,
		targetId: entry.targetId,
		detail: { ...entry.detail },
	});
}
