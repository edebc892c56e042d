import { attachedToInstances, releaseInstanceVolumes } from "@igoudar/storage";
import type { StorageDrivers } from "../drivers/storage-driver";
import type { InstanceSagaContext } from "./common";
import { lookUpVolumesOf } from "./lookups";
import { driveStorage, storageDriverFor } from "./volume";

/**
 * An instance's volumes on the data plane, for the instance sagas: attached by its create (the
 * request marked them `attaching` to it), detached by its delete. Each call is idempotent on the
 * volume, so a resumed step or a repeated undo does nothing twice.
 */

export async function attachInstanceVolumes(ctx: InstanceSagaContext, drivers: StorageDrivers): Promise<void> {
	for (const volume of await lookUpVolumesOf(ctx.db, ctx.payload.instance_id)) {
		if (volume.status !== "attaching" || !volume.poolId) continue;
		const driver = await storageDriverFor(ctx.db, drivers, volume.poolId);
		await driveStorage(ctx, "attachVolume", () => driver.attachVolume(volume.id, ctx.payload.instance_id, ctx.effect));
	}
}

export async function detachInstanceVolumes(ctx: InstanceSagaContext, drivers: StorageDrivers): Promise<void> {
	for (const volume of await lookUpVolumesOf(ctx.db, ctx.payload.instance_id)) {
		if (!volume.poolId) continue;
		const driver = await storageDriverFor(ctx.db, drivers, volume.poolId);
		await driveStorage(ctx, "detachVolume", () => driver.detachVolume(volume.id, ctx.effect));
	}
}

export { attachedToInstances, releaseInstanceVolumes };
