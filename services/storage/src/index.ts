import type { ServiceModule } from "@igoudar/kit";
import type { StorageDeps } from "./deps";

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
export { findPoolById } from "./db/pools";
export { findSnapshotById, transitionSnapshot } from "./db/snapshots";
export { findVolumeById, settleInstanceVolumes, transitionVolume, volumesOfInstance } from "./db/volumes";
export type { StorageDeps } from "./deps";
export { type StorageJobName, storageJobs } from "./jobs";

export const storageService: ServiceModule<StorageDeps> = {
	name: "storage",
	tags: [
		{ name: "storage-pools", description: "Block storage capacity per zone and storage class (operators)." },
		{ name: "volumes", description: "Block storage volumes of a tenant, and their attachments." },
		{ name: "snapshots", description: "Point-in-time copies of volumes." },
	],
	async register(app, deps) {
		for (const routes of [] as ((scope: typeof app, deps: StorageDeps) => Promise<void>)[]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
