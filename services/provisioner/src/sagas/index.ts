import type { ComputeDriver } from "../drivers/driver";
import type { InstanceSagas } from "./common";
import { instanceCreateSaga } from "./instance-create";
import { instanceDeleteSaga } from "./instance-delete";
import { instanceRebootSaga, instanceStartSaga, instanceStopSaga } from "./instance-power";

export type { InstancePayload, InstanceSaga, InstanceSagaContext, InstanceSagaData, InstanceSagas } from "./common";
export { instanceCreateSaga, instanceDeleteSaga, instanceRebootSaga, instanceStartSaga, instanceStopSaga };

/** One saga per compute job, keyed by job name, all driving the same data plane. */
export function computeSagas(driver: ComputeDriver): InstanceSagas {
	return {
		"instance.create": instanceCreateSaga(driver),
		"instance.delete": instanceDeleteSaga(driver),
		"instance.start": instanceStartSaga(driver),
		"instance.stop": instanceStopSaga(driver),
		"instance.reboot": instanceRebootSaga(driver),
	};
}
