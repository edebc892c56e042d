import type { ConsistencyExtension } from "@igoudar/compute";
import type { ServiceModule } from "@igoudar/kit";
import { STORAGE_CONSISTENCY_CHECKERS } from "./app/consistency";
import type { StorageDeps } from "./deps";
import { PoolChangeSchema, PoolDriftSchema } from "./routes/consistency-schemas";
import { poolRoutes } from "./routes/pools";
import { snapshotRoutes } from "./routes/snapshots";
import { volumeRoutes } from "./routes/volumes";

export {
	claimStorageQuota,
	releaseSnapshotClaims,
	releaseVolumeClaims,
	revertVolumeResize,
	SNAPSHOT_QUOTA_RESOURCES,
	snapshotQuota,
	VOLUME_QUOTA_RESOURCES,
	volumeQuota,
} from "./app/claims";
export type { PoolChange, PoolDrift } from "./app/consistency";
export { findPoolById, readPoolUsage } from "./db/pools";
export { findSnapshotById, transitionSnapshot } from "./db/snapshots";
export {
	attachedToInstances,
	findVolumeById,
	releaseInstanceVolumes,
	transitionVolume,
	type VolumeRow,
	volumesOfInstance,
	volumesOfInstances,
} from "./db/volumes";
export type { StorageDeps } from "./deps";
export { type StorageJobName, storageJobs } from "./jobs";

/**
 * Storage's part of the consistency audit (its quotas and pool allocation), which the platform
 * adds to compute's: compute cannot import storage, which builds on it.
 */
export const storageConsistency: ConsistencyExtension = {
	checkers: STORAGE_CONSISTENCY_CHECKERS,
	driftSchemas: [PoolDriftSchema],
	changeSchemas: [PoolChangeSchema],
};

export const storageService: ServiceModule<StorageDeps> = {
	name: "storage",
	tags: [
		{ name: "storage-pools", description: "Block storage capacity per zone and storage class (operators)." },
		{ name: "volumes", description: "Block storage volumes of a tenant, and their attachments." },
		{ name: "snapshots", description: "Point-in-time copies of volumes." },
	],
	async register(app, deps) {
		for (const routes of [poolRoutes, volumeRoutes, snapshotRoutes]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
