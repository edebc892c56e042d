import { findZoneByRef } from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import { problems } from "@igoudar/kit";
import { candidatePools, claimPoolSpace, storageClassExists } from "../db/pools";

/** Where a new volume may go: a zone and class, or any the tenant's residency allows. */
export interface PoolTarget {
	zoneId?: string;
	storageClass?: string;
	/** Allowed jurisdictions; null means anywhere. */
	jurisdictions: string[] | null;
}

export interface ClaimedPool {
	id: string;
	zoneId: string;
	storageClass: string;
}

function outsideResidency(zone: { name: string; jurisdiction: string }, residency: string[], field: string) {
	return problems.validation(
		`Zone ${zone.name} is in ${zone.jurisdiction}, outside the tenant's data residency (${residency.join(", ")}).`,
		[{ field, message: "outside data residency" }],
	);
}

/**
 * The zone a request names, resolved and checked against the tenant's data residency: a zone the
 * tenant may never use is a 400, as for instances, not a 503 that suggests waiting for room.
 */
export async function allowedZone(
	db: Db,
	ref: string,
	residency: string[] | null,
	field = "body/zone",
): Promise<{ id: string; name: string; jurisdiction: string }> {
	const zone = await findZoneByRef(db, ref);
	if (!zone) throw problems.validation(`No zone named ${ref} exists.`, [{ field, message: "not found" }]);
	if (residency && !residency.includes(zone.jurisdiction)) throw outsideResidency(zone, residency, field);
	return zone;
}

/** A class no pool serves is a mistake in the request (400), not a shortage of room (503). */
export async function knownStorageClass(db: Db, storageClass: string): Promise<void> {
	if (!(await storageClassExists(db, storageClass))) {
		throw problems.validation(`No storage pool serves the class ${storageClass}.`, [
			{ field: "body/storage_class", message: "not served by any pool" },
		]);
	}
}

/**
 * Claims `sizeGib` on the enabled pool with the most free space within the target. The ranking is
 * a plain read and the claim a conditional UPDATE, as for hosts: a pool filled by a parallel
 * request since the ranking is skipped, and an exhausted page of candidates asks for another.
 * Runs in the caller's transaction after its quota claims (the pool row is the last lock taken).
 */
export async function claimPoolFor(db: Db, sizeGib: number, target: PoolTarget): Promise<ClaimedPool | undefined> {
	const tried: string[] = [];
	for (let round = 0; round < 4; round++) {
		const candidates = await candidatePools(db, { sizeGib, ...target, excludePoolIds: tried });
		if (candidates.length === 0) return undefined;
		for (const candidate of candidates) {
			tried.push(candidate.id);
			if (await claimPoolSpace(db, candidate.id, sizeGib)) return candidate;
		}
	}
	return undefined;
}

export function noPoolRoom(sizeGib: number, target: { zone?: string; storageClass?: string }) {
	const where = target.zone ? `in zone ${target.zone}` : "within the allowed zones";
	const of = target.storageClass ? ` of class ${target.storageClass}` : "";
	return problems.noCapacity(`No storage pool${of} ${where} has room for ${sizeGib} GiB.`);
}
