import { findInstancesByIds } from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import { Coalescer, succeeded } from "@igoudar/jobs";
import { type VolumeRow, volumesOfInstances } from "@igoudar/storage";
import type { InstanceRow } from "./common";

/**
 * The reads every instance saga makes at its steps, shared by the runs in flight together: one
 * SELECT for all the instances (or their volumes) asked for at once, instead of one each. A read
 * answers what the database held when its statement ran, as a read of its own would.
 */

interface Lookups {
	instances: Coalescer<string, InstanceRow | undefined>;
	volumes: Coalescer<string, VolumeRow[]>;
}

const byDatabase = new WeakMap<Db, Lookups>();

function lookups(db: Db): Lookups {
	let found = byDatabase.get(db);
	if (!found) {
		found = {
			instances: new Coalescer(async (ids) => {
				const rows = await findInstancesByIds(db, ids);
				return ids.map((id) => succeeded(rows.get(id)));
			}),
			volumes: new Coalescer(async (ids) => {
				const rows = await volumesOfInstances(db, ids);
				return ids.map((id) => succeeded(rows.get(id) ?? []));
			}),
		};
		byDatabase.set(db, found);
	}
	return found;
}

/** The instance by id, whoever owns it (workers act for every tenant), deleted or not. */
export function lookUpInstance(db: Db, id: string): Promise<InstanceRow | undefined> {
	return lookups(db).instances.submit(id);
}

/** The live volumes an instance has or is getting, by volume id (the lock order). */
export function lookUpVolumesOf(db: Db, instanceId: string): Promise<VolumeRow[]> {
	return lookups(db).volumes.submit(instanceId);
}
