import {
	type AuditWriter,
	type ConsistencyChecker,
	counterCause,
	type QuotaTally,
	quotaChecker,
	REPAIR_ACTION,
	unique,
} from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import {
	countSnapshotsHoldingSpace,
	countVolumesHoldingSpace,
	lockPoolAllocation,
	type PoolAllocationRow,
	readPoolAllocations,
	type StorageHolding,
	setPoolAllocation,
} from "../db/consistency";
import { SNAPSHOT_QUOTA_RESOURCES, snapshotQuota, VOLUME_QUOTA_RESOURCES, volumeQuota } from "./claims";

/**
 * The storage checkers of the consistency audit: the storage quotas (`volumes`, `volume_gib`,
 * `snapshots`) and each pool's `allocated_gib`, against what the live volumes and snapshots with a
 * `pool_id` add up to through the one definition of what they charge (claims.ts). Repairs go one
 * tenant or pool at a time, each in a short transaction that locks only the rows it corrects (the
 * tenant's storage quota rows, or the pool row): every claim and release of that unit updates the
 * same rows, so the recount under the lock sees each of them whole or not at all.
 */

/** The storage quota resources in `claimQuota`'s lock order (code-unit order). */
const STORAGE_QUOTA_RESOURCES = [...SNAPSHOT_QUOTA_RESOURCES, ...VOLUME_QUOTA_RESOURCES].sort();
type StorageQuotaResource = (typeof STORAGE_QUOTA_RESOURCES)[number];

export type PoolDrift = {
	kind: "pool";
	pool_id: string;
	pool: string;
	stored: number;
	actual: number;
	cause: string;
};

export type PoolChange = Omit<PoolDrift, "stored" | "actual"> & { from: number; to: number };

/** What live volumes and snapshots hold, counted and added up. */
interface Held {
	volumes: number;
	snapshots: number;
	gib: number;
}

const nothingHeld = (): Held => ({ volumes: 0, snapshots: 0, gib: 0 });
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function heldBy(held: Held): string {
	const volumes = plural(held.volumes, "live volume", "live volumes");
	return `${volumes} and ${plural(held.snapshots, "snapshot", "snapshots")}`;
}

/** Adds up what each tenant's volumes and snapshots charge, through the one quota definition. */
function chargedByTenant(
	volumes: StorageHolding[],
	snapshots: StorageHolding[],
): Map<string, QuotaTally<StorageQuotaResource, Held>> {
	const totals = new Map<string, QuotaTally<StorageQuotaResource, Held>>();
	const totalOf = (tenantId: string) => {
		const total = totals.get(tenantId) ?? { charge: { snapshots: 0, volume_gib: 0, volumes: 0 }, held: nothingHeld() };
		totals.set(tenantId, total);
		return total;
	};
	for (const group of volumes) {
		const total = totalOf(group.tenantId);
		// The quota of a group of volumes: `count` volumes whose sizes add up to `gib`.
		const charge = volumeQuota(group.gib);
		total.charge.volumes += charge.volumes * group.count;
		total.charge.volume_gib += charge.volume_gib;
		total.held.volumes += group.count;
		total.held.gib += group.gib;
	}
	for (const group of snapshots) {
		const total = totalOf(group.tenantId);
		total.charge.snapshots += snapshotQuota().snapshots * group.count;
		total.held.snapshots += group.count;
	}
	return totals;
}

function quotaHeldBy(resource: StorageQuotaResource, actual: number, held: Held): string {
	return resource === "volume_gib"
		? `the ${actual} GiB of the tenant's ${plural(held.volumes, "live volume", "live volumes")} holding space`
		: resource === "volumes"
			? `the tenant's ${plural(actual, "live volume", "live volumes")} holding space`
			: `the tenant's ${plural(actual, "live snapshot", "live snapshots")} holding space`;
}

/** Usage of the storage quota resources, recounted from the volumes and snapshots holding space. */
export const storageQuotaChecker = quotaChecker({
	resources: STORAGE_QUOTA_RESOURCES,
	recount: async (db, filter) =>
		chargedByTenant(await countVolumesHoldingSpace(db, filter), await countSnapshotsHoldingSpace(db, filter)),
	nothingHeld: nothingHeld(),
	heldBy: quotaHeldBy,
});

function heldByPool(volumes: StorageHolding[], snapshots: StorageHolding[]): Map<string, Held> {
	const totals = new Map<string, Held>();
	const totalOf = (poolId: string) => {
		const total = totals.get(poolId) ?? nothingHeld();
		totals.set(poolId, total);
		return total;
	};
	for (const group of volumes) {
		const total = totalOf(group.poolId);
		total.volumes += group.count;
		total.gib += group.gib;
	}
	for (const group of snapshots) {
		const total = totalOf(group.poolId);
		total.snapshots += group.count;
		total.gib += group.gib;
	}
	return totals;
}

function poolDrifts(pools: PoolAllocationRow[], volumes: StorageHolding[], snapshots: StorageHolding[]): PoolDrift[] {
	const held = heldByPool(volumes, snapshots);
	const drifts: PoolDrift[] = [];
	for (const pool of pools) {
		const actual = held.get(pool.id) ?? nothingHeld();
		if (pool.allocatedGib === actual.gib) continue;
		const holders = `the ${actual.gib} GiB its ${heldBy(actual)} hold`;
		drifts.push({
			kind: "pool",
			pool_id: pool.id,
			pool: pool.name,
			stored: pool.allocatedGib,
			actual: actual.gib,
			cause: counterCause("the pool's allocated_gib", pool.allocatedGib, actual.gib, holders),
		});
	}
	return drifts;
}

export const poolAllocationChecker: ConsistencyChecker<PoolDrift, PoolChange> = {
	kind: "pool",
	async find(snapshot) {
		return poolDrifts(
			await readPoolAllocations(snapshot),
			await countVolumesHoldingSpace(snapshot),
			await countSnapshotsHoldingSpace(snapshot),
		);
	},
	async repair(db, found, audit) {
		const changes: PoolChange[] = [];
		for (const poolId of unique(found.map((drift) => drift.pool_id))) {
			const change = await repairPoolAllocation(db, poolId, audit);
			if (change) changes.push(change);
		}
		return changes;
	},
};

async function repairPoolAllocation(db: Db, poolId: string, audit: AuditWriter): Promise<PoolChange | undefined> {
	return db.transaction(async (tx) => {
		const pool = await lockPoolAllocation(tx, poolId);
		if (!pool) return undefined;
		const [drift] = poolDrifts(
			[pool],
			await countVolumesHoldingSpace(tx, { poolId }),
			await countSnapshotsHoldingSpace(tx, { poolId }),
		);
		if (!drift) return undefined;
		const change: PoolChange = {
			kind: "pool",
			pool_id: poolId,
			pool: pool.name,
			from: drift.stored,
			to: drift.actual,
			cause: drift.cause,
		};
		await setPoolAllocation(tx, poolId, change.to);
		await audit(tx, {
			tenantId: null,
			action: REPAIR_ACTION,
			targetType: "storage_pool",
			targetId: poolId,
			detail: { changes: [change] },
		});
		return change;
	});
}

/** Storage's checkers, in the order a report lists them after compute's. */
export const STORAGE_CONSISTENCY_CHECKERS: readonly ConsistencyChecker[] = [storageQuotaChecker, poolAllocationChecker];
