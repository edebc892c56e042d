import { defineCatalog, defineJob } from "@igoudar/jobs";
import { Type } from "typebox";

const InstancePayload = Type.Object({ instance_id: Type.String({ format: "uuid" }) }, { additionalProperties: false });

/**
 * The saga runner decides each retry from the step's policy (tries and a capped, jittered delay)
 * and asks for the delay; `attempts` only caps deliveries, well above any step's tries, so that
 * BullMQ never gives up before the runner does.
 */
const retry = { attempts: 1_000, backoff: { type: "requested" as const, delay: 1_000 } };

export const computeJobs = defineCatalog({
	// Creates come in bursts and their runs are short, so the relay sends those it finds together
	// as batch jobs (@igoudar/jobs, job-batches.ts); each still runs as its own operation.
	"instance.create": defineJob({
		name: "instance.create",
		queue: "compute",
		payload: InstancePayload,
		...retry,
		batched: true,
	}),
	"instance.delete": defineJob({ name: "instance.delete", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.start": defineJob({ name: "instance.start", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.stop": defineJob({ name: "instance.stop", queue: "compute", payload: InstancePayload, ...retry }),
	"instance.reboot": defineJob({ name: "instance.reboot", queue: "compute", payload: InstancePayload, ...retry }),
});

export type ComputeJobName = keyof typeof computeJobs;
