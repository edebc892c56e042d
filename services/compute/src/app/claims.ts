import { claimQuota, type Db, releaseQuota } from "@igoudar/db";
import { operationCapReached, problems } from "@igoudar/kit";
import { claimHostCapacity, releaseHostCapacity, type Size } from "../db/capacity";
import { clearInstanceHost, lockLiveInstance } from "../db/instances";

/**
 * What an instance charges against its tenant's quota: the one definition, used by the create,
 * every release and the consistency audit's recount.
 */
export function instanceQuota(size: Pick<Size, "vcpus" | "memoryMib">) {
	return { instances: 1, vcpus: size.vcpus, memory_mib: size.memoryMib };
}

export type InstanceQuotaResource = keyof ReturnType<typeof instanceQuota>;

/**
 * The quota resources an instance charges, sorted as `claimQuota` sorts them (code-unit order),
 * which is the order their rows are locked in.
 */
export const INSTANCE_QUOTA_RESOURCES: readonly InstanceQuotaResource[] = (
	Object.keys(instanceQuota({ vcpus: 0, memoryMib: 0 })) as InstanceQuotaResource[]
).sort();

/**
 * Claims quota in the caller's transaction; throws 422 quota_exceeded naming every shortfall.
 * With `openOperationsCap` (the caller holds the tenant's operation slot lock), the same
 * statement first checks the tenant's open operations and throws 429 at the cap.
 */
export async function claimInstanceQuota(
	tx: Db,
	tenantId: string,
	size: Size,
	openOperationsCap?: number,
): Promise<void> {
	const claim = await claimQuota(
		tx,
		tenantId,
		instanceQuota(size),
		openOperationsCap === undefined ? {} : { openOperationsCap },
	);
	if (!claim.ok) {
		if (claim.openOperations !== undefined) throw operationCapReached(claim.openOperations);
		throw problems.quotaExceeded(
			claim.shortfalls.map((s) => ({ resource: s.resource, limit: s.limit, used: s.used, requested: s.requested })),
		);
	}
}

export { claimHostCapacity };

/**
 * Gives back everything an instance holds, exactly once: an instance holds quota and host
 * capacity while `host_id` is set, and this clears it in the same transaction as the release.
 * `delete` also retires the row (`deleted_at`); `fail` leaves it visible as `failed`.
 */
export async function releaseInstanceClaims(db: Db, instanceId: string, outcome: "fail" | "delete"): Promise<boolean> {
	return db.transaction(async (tx) => {
		const row = await lockLiveInstance(tx, instanceId);
		if (!row) return false;
		const size = { vcpus: row.vcpus, memoryMib: row.memoryMib, diskGib: row.diskGib };
		if (row.hostId) {
			// Same lock order as a create: quota rows first, then the host.
			await releaseQuota(tx, row.tenantId, instanceQuota(size));
			await releaseHostCapacity(tx, row.hostId, size);
		}
		await clearInstanceHost(tx, instanceId, outcome);
		return true;
	});
}
