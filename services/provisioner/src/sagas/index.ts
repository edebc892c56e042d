import type { AnySaga } from "@igoudar/jobs";
import type { StorageJobName } from "@igoudar/storage";
import type { ComputeDriver } from "../drivers/driver";
import type { StorageDrivers } from "../drivers/storage-driver";
import type { InstanceSagas } from "./common";
import { instanceCreateSaga } from "./instance-create";
import { instanceDeleteSaga } from "./instance-delete";
import { instanceRebootSaga, instanceStartSaga, instanceStopSaga } from "./instance-power";
import { snapshotCreateSaga, snapshotDeleteSaga } from "./snapshot";
import { volumeAttachSaga, volumeCreateSaga, volumeDeleteSaga, volumeDetachSaga, volumeResizeSaga } from "./volume";

export type { InstancePayload, InstanceSaga, InstanceSagaContext, InstanceSagaData, InstanceSagas } from "./common";
export { instanceCreateSaga, instanceDeleteSaga, instanceRebootSaga, instanceStartSaga, instanceStopSaga };

/** One saga per compute job, keyed by job name; instance creates and deletes also (de)attach volumes. */
export function computeSagas(driver: ComputeDriver, storage: StorageDrivers): InstanceSagas {
	return {
		"instance.create": instanceCreateSaga(driver, storage),
		"instance.delete": instanceDeleteSaga(driver, storage),
		"instance.start": instanceStartSaga(driver),
		"instance.stop": instanceStopSaga(driver),
		"instance.reboot": instanceRebootSaga(driver),
	};
}

/** One saga per storage job, keyed by job name, each using the driver of the resource's pool. */
export function storageSagas(drivers: StorageDrivers): Record<StorageJobName, AnySaga> {
	return {
		"volume.create": volumeCreateSaga(drivers) as unknown as AnySaga,
		"volume.delete": volumeDeleteSaga(drivers) as unknown as AnySaga,
		"volume.resize": volumeResizeSaga(drivers) as unknown as AnySaga,
		"volume.attach": volumeAttachSaga(drivers) as unknown as AnySaga,
		"volume.detach": volumeDetachSaga(drivers) as unknown as AnySaga,
		"snapshot.create": snapshotCreateSaga(drivers) as unknown as AnySaga,
		"snapshot.delete": snapshotDeleteSaga(drivers) as unknown as AnySaga,
	};
}
