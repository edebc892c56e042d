import { type Db, lockTenantVolumes, markVolumesAttaching } from "@igoudar/db";
import { problems } from "@igoudar/kit";

/**
 * Volumes named in an instance create (`volume_ids`): they must be the tenant's, live, available
 * and attached to nothing, all in one zone, which the instance is then placed in. Locked in id
 * order until the create commits (after the placement group, before the quota rows: the lock
 * order of every path that touches both), so a parallel attach or delete of one of them waits and
 * then finds it taken.
 */
export async function lockVolumesForInstance(
	db: Db,
	tenantId: string,
	volumeIds: readonly string[],
	requestedZoneId: string | undefined,
): Promise<{ zoneId: string | undefined; volumeIds: string[] }> {
	const unique = [...new Set(volumeIds)];
	if (unique.length === 0) return { zoneId: requestedZoneId, volumeIds: [] };
	if (unique.length !== volumeIds.length) {
		throw problems.validation("A volume is named twice.", [{ field: "body/volume_ids", message: "duplicate ids" }]);
	}
	const found = await lockTenantVolumes(db, tenantId, unique);
	const missing = unique.filter((id) => !found.some((volume) => volume.id === id));
	if (missing.length > 0) {
		throw problems.validation(`No volume with id ${missing.join(", ")} exists in this tenant.`, [
			{ field: "body/volume_ids", message: "not found" },
		]);
	}
	const busy = found.filter((volume) => volume.status !== "available" || volume.instanceId !== null);
	if (busy.length > 0) {
		throw problems.invalidState(
			`Volumes must be available to attach; ${busy.map((v) => `${v.id} is ${v.status}`).join(", ")}.`,
		);
	}
	const zones = new Set(found.map((volume) => volume.zoneId));
	const [zoneId] = [...zones];
	if (zones.size > 1 || !zoneId) {
		throw problems.validation("The volumes are in different zones; an instance can use volumes of one zone.", [
			{ field: "body/volume_ids", message: "different zones" },
		]);
	}
	if (requestedZoneId && requestedZoneId !== zoneId) {
		throw problems.validation("The volumes are in another zone than the one requested.", [
			{ field: "body/zone", message: "not the volumes' zone" },
		]);
	}
	return { zoneId, volumeIds: unique };
}

/** Marks the locked volumes `attaching` to the new instance; its create saga attaches them. */
export async function attachVolumesToNewInstance(db: Db, volumeIds: readonly string[], instanceId: string) {
	const attached = await markVolumesAttaching(db, volumeIds, instanceId);
	// They were locked and checked in this transaction, so all of them must have moved.
	if (attached !== volumeIds.length) throw problems.internal();
}
