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
	setHostAllocation,
} from "../db/consistency";
import { transitionInstance } from "../db/instances";
import { INSTANCE_QUOTA_RESOURCES, type InstanceQuotaResource, instanceQuota } from "./claims";
import type {
	AuditWriter,
	ConsistencyChecker,
	HostChange,
	HostDrift,
	StuckInstanceChange,
	StuckInstanceDrift,
} from "./consistency";
import { counterCause, type QuotaTally, quotaChecker, REPAIR_ACTION, unique } from "./quota-consistency";

/**
 * The checkers for what instances hold: their tenants' quota usage, their hosts' allocation, and
 * instances left in a transitional status that nothing will move on. Repairs go one tenant, host
 * or instance at a time, each in a short transaction with the locks its claims and releases take
 * (quota rows, or the host row, or the instance row; never two of them), so a repair can neither
 * deadlock with nor block the traffic of other tenants and hosts for long.
 */

/** How an amount of each sized resource reads in a cause. */
const UNITS: Record<Exclude<InstanceQuotaResource | keyof HostAllocation, "instances">, (n: number) => string> = {
	vcpus: (n) => `${n} ${n === 1 ? "vCPU" : "vCPUs"}`,
	memory_mib: (n) => `${n} MiB of memory`,
	disk_gib: (n) => `${n} GiB of disk`,
};

const liveInstances = (n: number) => `${n} live ${n === 1 ? "instance" : "instances"}`;

function quotaHeldBy(resource: InstanceQuotaResource, actual: number, instances: number): string {
	return resource === "instances"
		? `the tenant's ${liveInstances(actual)} holding capacity`
		: `the ${UNITS[resource](actual)} its ${liveInstances(instances)} holding capacity add up to`;
}

function hostCause(resource: keyof HostAllocation, stored: number, actual: number, instances: number): string {
	if (resource === "instances") {
		return counterCause("the host's instance count", stored, actual, `the ${liveInstances(actual)} placed on it`);
	}
	const heldBy = `the ${UNITS[resource](actual)} its ${liveInstances(instances)} hold`;
	return counterCause(`the host's ${resource} allocation`, stored, actual, heldBy);
}

/**
 * Adds up what the counted instances charge their tenants, through the one quota definition; what
 * they hold is their number.
 */
function quotaChargedByTenant(counts: InstanceSizeCount[]): Map<string, QuotaTally<InstanceQuotaResource, number>> {
	const totals = new Map<string, QuotaTally<InstanceQuotaResource, number>>();
	for (const group of counts) {
		const total = totals.get(group.tenantId) ?? { charge: { instances: 0, vcpus: 0, memory_mib: 0 }, held: 0 };
		const charge = instanceQuota(group);
		for (const resource of INSTANCE_QUOTA_RESOURCES) total.charge[resource] += charge[resource] * group.count;
		total.held += group.count;
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

const NOTHING_ALLOCATED: HostAllocation = { vcpus: 0, memory_mib: 0, disk_gib: 0, instances: 0 };

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

/** Usage of the instance quota resources, recounted from the instances holding capacity. */
export const quotaUsageChecker = quotaChecker({
	resources: INSTANCE_QUOTA_RESOURCES,
	recount: async (db, filter) => quotaChargedByTenant(await countInstancesHoldingCapacity(db, filter)),
	nothingHeld: 0,
	heldBy: quotaHeldBy,
});

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
		await audit(tx, {
			tenantId: null,
			action: REPAIR_ACTION,
			targetType: "host",
			targetId: hostId,
			detail: { changes },
		});
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
					action: REPAIR_ACTION,
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
