import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { Db } from "../client";
import { volumes } from "../schema/storage";

/**
 * Attachments of volumes to instances, shared by compute (an instance created with `volume_ids`)
 * and storage (attach and detach): `volumes.instance_id` is the attachment.
 */

export type AttachableVolume = Pick<typeof volumes.$inferSelect, "id" | "status" | "zoneId" | "instanceId">;

/**
 * Locks the tenant's live volumes among `ids`, in id order (the lock order every path takes), for
 * the rest of the transaction. Volumes of other tenants are simply not found.
 */
export async function lockTenantVolumes(tx: Db, tenantId: string, ids: readonly string[]): Promise<AttachableVolume[]> {
	if (ids.length === 0) return [];
	return tx
		.select({ id: volumes.id, status: volumes.status, zoneId: volumes.zoneId, instanceId: volumes.instanceId })
		.from(volumes)
		.where(and(eq(volumes.tenantId, tenantId), inArray(volumes.id, [...ids]), isNull(volumes.deletedAt)))
		.orderBy(asc(volumes.id))
		.for("update");
}

/** Attaches available volumes to an instance being made: `attaching` until its create settles. */
export async function markVolumesAttaching(tx: Db, ids: readonly string[], instanceId: string): Promise<number> {
	if (ids.length === 0) return 0;
	const rows = await tx
		.update(volumes)
		.set({ status: "attaching", instanceId, updatedAt: new Date() })
		.where(
			and(
				inArray(volumes.id, [...ids]),
				eq(volumes.status, "available"),
				isNull(volumes.instanceId),
				isNull(volumes.deletedAt),
			),
		)
		.returning({ id: volumes.id });
	return rows.length;
}
