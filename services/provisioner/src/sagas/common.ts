import type { ComputeJobName, computeJobs, findInstanceById } from "@igoudar/compute";
import type { InstanceStatus } from "@igoudar/db";
import type { JobPayload, Saga, SagaContext } from "@igoudar/jobs";
import { PermanentJobError, TransientJobError } from "@igoudar/jobs";
import type { Logger } from "pino";
import { MachineNotFoundError, PermanentDriverError, StaleFenceError, TransientDriverError } from "../drivers/driver";
import { lookUpInstance } from "./lookups";

/** Every compute job carries `{ instance_id }` and nothing else: the saga reads the rest. */
export type InstancePayload = JobPayload<(typeof computeJobs)["instance.create"]>;

/** The data every instance saga keeps in `operations.state.data`. */
export interface InstanceSagaData extends Record<string, unknown> {
	/**
	 * The instance was not in the state this job was queued for when the job first ran (gone,
	 * or moved on): there is nothing to do, and nothing may be undone or released on its behalf.
	 */
	skipped: boolean;
	/** The data plane has no machine for the instance: whatever status it had is no longer true. */
	machineMissing: boolean;
	hostId: string;
}

export type InstanceSaga = Saga<InstancePayload, InstanceSagaData>;
export type InstanceSagaContext = SagaContext<InstancePayload, InstanceSagaData>;
export type InstanceSagas = { [Name in ComputeJobName]: InstanceSaga };

export type InstanceRow = NonNullable<Awaited<ReturnType<typeof findInstanceById>>>;

/**
 * The live instance if it is in `expected`, else undefined. Read at the first step of a saga so
 * that a job delivered for an instance that has since gone (or was never made) is a no-op rather
 * than a failure that would release claims someone else now relies on.
 */
export async function instanceIn(
	ctx: InstanceSagaContext,
	expected: readonly InstanceStatus[],
): Promise<InstanceRow | undefined> {
	const row = await lookUpInstance(ctx.db, ctx.payload.instance_id);
	if (row && row.deletedAt === null && expected.includes(row.status)) return row;
	ctx.logger.warn(
		{ instanceId: ctx.payload.instance_id, status: row?.status, deleted: row ? row.deletedAt !== null : undefined },
		"instance is not in the state this job expects; nothing to do",
	);
	return undefined;
}

// Codes a driver may end an operation with; anything else is reported as `internal`.
const PUBLIC_CODES = new Set(["no_capacity", "conflict", "not_found", "invalid_state"]);

/**
 * The one sentence an operation may show for a refusal by the data plane. The driver's own
 * message names hosts, paths and internals: it goes to the log, never to the API.
 */
export const REFUSALS: Record<string, string> = {
	createInstance: "The host could not define the instance.",
	deleteInstance: "The host could not remove the instance.",
	startInstance: "The host could not start the instance.",
	stopInstance: "The host could not stop the instance.",
	rebootInstance: "The host could not reboot the instance.",
	createVolume: "The storage pool could not create the volume.",
	restoreVolume: "The storage pool could not restore the snapshot.",
	deleteVolume: "The storage pool could not remove the volume.",
	growVolume: "The storage pool could not grow the volume.",
	attachVolume: "The volume could not be attached to the instance.",
	detachVolume: "The volume could not be detached from the instance.",
	createSnapshot: "The storage pool could not copy the volume.",
	deleteSnapshot: "The storage pool could not remove the snapshot.",
};

/**
 * Translates a driver fault for the saga runner. A transient fault becomes a `TransientJobError`
 * the operation may show while the step waits to be tried again; anything unexpected (a dropped
 * database connection) is rethrown as is and retried too, shown as `internal`. A permanent one
 * becomes a `PermanentJobError` with the one sentence the API may show (`refusal`), which
 * compensates at once; the driver's own message goes to the log. A refused fence means a later
 * run reached the resource first: retried, which stops this run if it is the superseded one.
 */
export function driverFault(error: unknown, refusal: string, logger: Logger, action: string): Error {
	if (error instanceof StaleFenceError) {
		return new TransientJobError("conflict", "A later operation on this resource reached it first.", { cause: error });
	}
	if (error instanceof TransientDriverError) {
		return new TransientJobError("unavailable", "The data plane did not answer; the step will be tried again.", {
			cause: error,
		});
	}
	if (!(error instanceof PermanentDriverError)) return error instanceof Error ? error : new Error(String(error));
	logger.error({ err: error, action }, "the driver refused permanently");
	const code = PUBLIC_CODES.has(error.code) ? error.code : "internal";
	return new PermanentJobError(code, refusal);
}

/**
 * Calls the compute driver and translates its faults (see `driverFault`). A missing machine is
 * remembered in the saga's persisted data before failing, so the status the instance ends with
 * can say so even if compensation resumes in another process.
 */
export async function drive(ctx: InstanceSagaContext, action: string, call: () => Promise<void>): Promise<void> {
	try {
		await call();
	} catch (error) {
		if (error instanceof MachineNotFoundError) await ctx.remember({ machineMissing: true });
		throw driverFault(error, REFUSALS[action] ?? "The data plane refused the change.", ctx.logger, action);
	}
}
