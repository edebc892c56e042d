import type { Db } from "@igoudar/db";
import {
	countInstancesHoldingCapacity,
	findStuckInstances,
	HOST_ALLOCATION_RESOURCES,
	type HostAllocation,
	type InstanceSizeCount,
	lockHostAllocation,
	lockStuckInstance,
	readHostAllocations,
	readQuotaUsage,
	setHostAllocation,
	setQuotaUsed,
} from "../db/consistency";
import { transitionInstance } from "../db/instances";
import { INSTANCE_QUOTA_RESOURCES, type InstanceQuotaResource, instanceQuota } from "./claims";
import type {
	AuditWriter,
	ConsistencyChecker,
	HostChange,
	HostDrift,
	QuotaChange,
	QuotaDrift,
	StuckInstanceChange,
	StuckInstanceDrift,
} from "./consistency";

/**
 * The checkers for what instances hold: their tenants' quota usage, their hosts' allocation, and
 * instances left in a transitional status that nothing will move on. Repairs go one tenant, host
 * or instance at a time, each in a short transaction with the locks its claims and releases take
 * (quota rows, or the host row, or the instance row; never two of them), so a repair can neither
 * deadlock with nor block the traffic of other tenants and hosts for long.
 */

const ACTION = "system.consistency.repair";

/** How an amount of each sized resource reads in a cause. */
const UNITS: Record<Exclude<InstanceQuotaResource | keyof HostAllocation, "instances">, (n: number) => string> = {
	vcpus: (n) => `${n} ${n === 1 ? "vCPU" : "vCPUs"}`,
	memory_mib: (n) => `${n} MiB of memory`,
	disk_gib: (n) => `${n} GiB of disk`,
};

/**
 * Why a counter differs from its recount, in one sentence: counters move only with the claim or
 * release of an instance, so one that is too high lost a release and one too low missed a claim.
 */
function counterCause(counter: string, stored: number, actual: number, heldBy: string): string {
	const difference = stored - actual;
	const direction = difference > 0 ? `${difference} higher` : `${-difference} lower`;
	const reason = difference > 0 ? "a release was lost" : "a claim was not counted";
	return `${counter} is ${direction} than ${heldBy}: ${reason}`;
}

const liveInstances = (n: number) => `${n} live ${n === 1 ? "instance" : "instances"}`;

function quotaCause(resource: InstanceQuotaResource, stored: number, actual: number, instances: number): string {
	const heldBy =
		resource === "instances"
			? `the tenant's ${liveInstances(actual)} holding capacity`
			: `the ${UNITS[resource](actual)} its ${liveInstances(instances)} holding capacity add up to`;
	return counterCause(`the ${resource} usage counter`, stored, actual, heldBy);
}

function hostCause(resource: keyof HostAllocation, stored: number, actual: number, instances: number): string {
	if (resource === "instances") {
		return counterCause("the host's instance count", stored, actual, `the ${liveInstances(actual)} placed on it`);
	}
	const heldBy = `the ${UNITS[resource](actual)} its ${liveInstances(instances)} hold`;
	return counterCause(`the host's ${resource} allocation`, stored, actual, heldBy);
}

/** Adds up what the counted instances charge their tenants, through the one quota definition. */
function quotaChargedByTenant(counts: InstanceSizeCount[]): Map<string, Record<InstanceQuotaResource, number>> {
	const totals = new Map<string, Record<InstanceQuotaResource, number>>();
	for (const group of counts) {
		const total = totals.get(group.tenantId) ?? { instances: 0, vcpus: 0, memory_mib: 0 };
		const charge = instanceQuota(group);
		for (const resource of INSTANCE_QUOTA_RESOURCES) total[resource] += charge[resource] * group.count;
		totals.set(group.tenantId, total);
	}
	return totals;
}

/** Adds up what the counted instances hold on their hosts: their size, and one instance each. */
function allocationByHost(counts: InstanceSizeCount[]): Map<string, HostAllocation> {
	const totals = new Map<string, HostAllocation>();
	for (const group of counts) {
		const total = totals.get(group.hostId) ?? { vcpus: 0, memory_mib: 0, disk_gib: 0, instances: 0 };
		total.vcpus += group.vcpus * group.count;
		total.memory_mib += group.memoryMib * group.count;
		total.disk_gib += group.diskGib * group.count;
		total.instances += group.count;
		totals.set(group.hostId, total);
	}
	return totals;
}

const NOTHING_CHARGED = { instances: 0, vcpus: 0, memory_mib: 0 };
const NOTHING_ALLOCATED: HostAllocation = { vcpus: 0, memory_mib: 0, disk_gib: 0, instances: 0 };

/** Drift of each stored quota row from the recount; a tenant without rows has nothing to drift. */
function quotaDrifts(
	rows: { tenantId: string; resource: string; used: number }[],
	counts: InstanceSizeCount[],
): QuotaDrift[] {
	const charged = quotaChargedByTenant(counts);
	const drifts: QuotaDrift[] = [];
	for (const row of rows) {
		const resource = row.resource as InstanceQuotaResource;
		const live = charged.get(row.tenantId) ?? NOTHING_CHARGED;
		const actual = live[resource];
		if (row.used === actual) continue;
		const cause = quotaCause(resource, row.used, actual, live.instances);
		drifts.push({ kind: "quota", tenant_id: row.tenantId, resource, stored: row.used, actual, cause });
	}
	return drifts;
}

function hostDrifts(
	hostRows: { id: string; name: string; allocated: HostAllocation }[],
	counts: InstanceSizeCount[],
): HostDrift[] {
	const held = allocationByHost(counts);
	const drifts: HostDrift[] = [];
	for (const host of hostRows) {
		const actual = held.get(host.id) ?? NOTHING_ALLOCATED;
		for (const resource of HOST_ALLOCATION_RESOURCES) {
			const stored = host.allocated[resource];
			if (stored === actual[resource]) continue;
			const cause = hostCause(resource, stored, actual[resource], actual.instances);
			drifts.push({
				kind: "host",
				host_id: host.id,
				host: host.name,
				resource,
				stored,
				actual: actual[resource],
				cause,
			});
		}
	}
	return drifts;
}

const unique = (ids: string[]) => [...new Set(ids)].sort();

export const quotaUsageChecker: ConsistencyChecker<QuotaDrift, QuotaChange> = {
	kind: "quota",
	// Storage reports drift of its own quota resources under the same kind.
	owns: (drift) => drift.kind === "quota" && (INSTANCE_QUOTA_RESOURCES as readonly unknown[]).includes(drift.resource),
	async find(snapshot) {
		return quotaDrifts(
			await readQuotaUsage(snapshot, INSTANCE_QUOTA_RESOURCES),
			await countInstancesHoldingCapacity(snapshot),
		);
	},
	async repair(db, found, audit) {
		const changes: QuotaChange[] = [];
		for (const tenantId of unique(found.map((drift) => drift.tenant_id))) {
			changes.push(...(await repairTenantQuota(db, tenantId, audit)));
		}
		return changes;
	},
};

async function repairTenantQuota(db: Db, tenantId: string, audit: AuditWriter): Promise<QuotaChange[]> {
	return db.transaction(async (tx) => {
		// The quota rows first: the recount that follows then sees every claim and release of the
		// tenant that got in before, and none that comes after.
		const rows = await readQuotaUsage(tx, INSTANCE_QUOTA_RESOURCES, { tenantId, lock: true });
		const drifts = quotaDrifts(rows, await countInstancesHoldingCapacity(tx, { tenantId }));
		const changes = drifts.map(
			({ resource, stored, actual, cause }): QuotaChange => ({
				kind: "quota",
				tenant_id: tenantId,
				resource,
				from: stored,
				to: actual,
				cause,
			}),
		);
		for (const change of changes) await setQuotaUsed(tx, tenantId, change.resource, change.to);
		if (changes.length > 0) {
			await audit(tx, { tenantId, action: ACTION, targetType: "quota", targetId: tenantId, detail: { changes } });
		}
		return changes;
	});
}

export const hostAllocationChecker: ConsistencyChecker<HostDrift, HostChange> = {
	kind: "host",
	async find(snapshot) {
		return hostDrifts(await readHostAllocations(snapshot), await countInstancesHoldingCapacity(snapshot));
	},
	async repair(db, found, audit) {
		const changes: HostChange[] = [];
		for (const hostId of unique(found.map((drift) => drift.host_id))) {
			changes.push(...(await repairHostAllocation(db, hostId, audit)));
		}
		return changes;
	},
};

async function repairHostAllocation(db: Db, hostId: string, audit: AuditWriter): Promise<HostChange[]> {
	return db.transaction(async (tx) => {
		const host = await lockHostAllocation(tx, hostId);
		if (!host) return [];
		const counts = await countInstancesHoldingCapacity(tx, { hostId });
		const changes = hostDrifts([host], counts).map(
			({ resource, stored, actual, cause }): HostChange => ({
				kind: "host",
				host_id: hostId,
				host: host.name,
				resource,
				from: stored,
				to: actual,
				cause,
			}),
		);
		if (changes.length === 0) return [];
		await setHostAllocation(tx, hostId, allocationByHost(counts).get(hostId) ?? NOTHING_ALLOCATED);
		await audit(tx, { tenantId: null, action: ACTION, targetType: "host", targetId: hostId, detail: { changes } });
		return changes;
	});
}

function stuckCause(drift: Pick<StuckInstanceDrift, "status" | "last_operation">): string {
	const last = drift.last_operation;
	const history = last
		? `its last operation (${last.kind} ${last.id}) ended ${last.status} without settling it`
		: "no operation was ever recorded for it";
	return `the instance is ${drift.status} with no operation open on it: ${history}, and nothing will move it on while it holds capacity`;
}

export const stuckInstanceChecker: ConsistencyChecker<StuckInstanceDrift, StuckInstanceChange> = {
	kind: "stuck",
	async find(snapshot) {
		return (await findStuckInstances(snapshot)).map((row) => {
			const lastOperation = row.lastOperation && {
				id: row.lastOperation.id,
				kind: row.lastOperation.kind,
				status: row.lastOperation.status,
				completed_at: row.lastOperation.completedAt?.toISOString() ?? null,
			};
			const drift = { status: row.status, last_operation: lastOperation };
			return {
				kind: "stuck",
				tenant_id: row.tenantId,
				instance_id: row.id,
				host_id: row.hostId,
				since: row.updatedAt.toISOString(),
				...drift,
				cause: stuckCause(drift),
			};
		});
	},
	/**
	 * A stuck instance becomes `failed` and keeps its claims, as an abandoned operation leaves it:
	 * its machine may exist, so only a delete (which runs the data-plane teardown) may free them.
	 */
	async repair(db, found, audit) {
		const changes: StuckInstanceChange[] = [];
		for (const drift of found) {
			const change = await db.transaction(async (tx) => {
				const stuck = await lockStuckInstance(tx, drift.instance_id);
				if (!stuck) return undefined;
				await transitionInstance(tx, drift.instance_id, [stuck.status], "failed");
				const settled: StuckInstanceChange = {
					kind: "stuck",
					tenant_id: stuck.tenantId,
					instance_id: drift.instance_id,
					host_id: stuck.hostId,
					from: stuck.status,
					to: "failed",
					cause: drift.cause,
				};
				await audit(tx, {
					tenantId: stuck.tenantId,
					action: ACTION,
					targetType: "instance",
					targetId: drift.instance_id,
					detail: { changes: [settled] },
				});
				return settled;
			});
			if (change) changes.push(change);
		}
		return changes;
	},
};
