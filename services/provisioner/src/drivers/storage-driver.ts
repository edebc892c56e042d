import type { DriverCall } from "./driver";

/**
 * The block-storage data plane, chosen per pool. Like the compute driver, every method is
 * idempotent on the resource id and carries the run's token (`call`): the fence lets the driver
 * refuse a superseded run's call atomically with the effect (`StaleFenceError`), and the key
 * recognises a call it has already carried out.
 */
export interface VolumeSpec {
	volumeId: string;
	poolId: string;
	sizeGib: number;
}

export interface StorageDriver {
	readonly name: string;
	/** Makes an empty volume of the size; succeeds when it exists already. */
	createVolume(spec: VolumeSpec, call: DriverCall): Promise<void>;
	/** Makes a volume holding the snapshot's data (then grown to the spec's size). */
	restoreVolume(spec: VolumeSpec, snapshotId: string, call: DriverCall): Promise<void>;
	/** Removes the volume; succeeds when it does not exist. */
	deleteVolume(volumeId: string, call: DriverCall): Promise<void>;
	/** Grows the volume to `sizeGib`; never shrinks (a larger volume is left as it is). */
	growVolume(volumeId: string, sizeGib: number, call: DriverCall): Promise<void>;
	/** Exposes the volume to the instance's host; succeeds when it is attached there already. */
	attachVolume(volumeId: string, instanceId: string, call: DriverCall): Promise<void>;
	/** Withdraws the volume from whatever it is attached to; succeeds when it is attached nowhere. */
	detachVolume(volumeId: string, call: DriverCall): Promise<void>;
	/** Copies the volume's data into a snapshot on the same pool. */
	createSnapshot(snapshotId: string, volumeId: string, poolId: string, call: DriverCall): Promise<void>;
	deleteSnapshot(snapshotId: string, call: DriverCall): Promise<void>;
}

export type StorageAction = keyof Omit<StorageDriver, "name">;

/** The storage drivers a worker can use, by the name a pool gives. */
export type StorageDrivers = Record<string, StorageDriver>;

export const GIB = 1024 ** 3;
