import { defineCatalog, defineJob } from "@igoudar/jobs";
import { Type } from "typebox";

const InstancePayload = Type.Object({ instance_id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

/** Short first retry: most driver faults are blips; the saga compensates after the last try. */
const retry = { attempts: 5, backoff: { type: "exponential" as const, delay: 500 } };

export const computeJobs = defineCatalog({
	"instance.create": defineJob({ name: "instance.create", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.delete": defineJob({ name: "instance.delete", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.start": defineJob({ name: "instance.start", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.stop": defineJob({ name: "instance.stop", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.reboot": defineJob({ name: "instance.reboot", queue: "compute", payload: InstancePayload, ...retry }),
});

export type ComputeJobName = keyof typeof computeJobs;
