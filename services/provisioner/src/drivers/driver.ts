import type { EffectToken } from "@igoudar/jobs";

/**
 * The data-plane boundary. The control plane decides; a driver makes it so on real machines.
 * Every method is idempotent on the instance id: the saga may call it again after a crash or a
 * retry, and a second call must not repeat the effect (or fail because it already happened).
 *
 * Every call also carries the run's token (`call`): its idempotency key names the (operation,
 * step, do|undo) the call belongs to, so a repeat is recognised by the key even where the machine's
 * state cannot tell; its fence is the fencing token of the run that makes it. A driver keeps the
 * largest fence it has seen per machine and refuses a smaller one with `StaleFenceError`,
 * atomically with the effect, so a call still in flight from a run that has been superseded can
 * never act after the run that superseded it (e.g. create a machine after it was compensated).
 */
export type DriverCall = EffectToken;
export interface InstanceSpec {
	instanceId: string;
	hostId: string;
	vcpus: number;
	memoryMib: number;
	diskGib: number;
}

export interface ComputeDriver {
	readonly name: string;
	/** Defines the machine on its host (powered off). */
	createInstance(spec: InstanceSpec, call: DriverCall): Promise<void>;
	/** Removes the machine; succeeds when it does not exist. */
	deleteInstance(instanceId: string, call: DriverCall): Promise<void>;
	startInstance(instanceId: string, call: DriverCall): Promise<void>;
	stopInstance(instanceId: string, call: DriverCall): Promise<void>;
	rebootInstance(instanceId: string, call: DriverCall): Promise<void>;
}

export type DriverAction = keyof Omit<ComputeDriver, "name">;

/** A fault the caller should retry (the data plane was busy or unreachable). */
export class TransientDriverError extends Error {
	override readonly name = "TransientDriverError";
}

/**
 * The data plane has already seen a call for this machine from a run that started later: the
 * caller's run has been superseded, and its call was refused without any effect.
 */
export class StaleFenceError extends Error {
	override readonly name = "StaleFenceError";
	constructor(
		readonly instanceId: string,
		readonly fence: number,
		readonly seen: number,
	) {
		super(`call for ${instanceId} with fence ${fence} refused: the data plane has seen fence ${seen}`);
	}
}

/** A fault no retry will fix (the host refused the machine): the saga compensates. */
export class PermanentDriverError extends Error {
	// Widened to string so subclasses can name themselves.
	override readonly name: string = "PermanentDriverError";
	constructor(
		message: string,
		readonly code = "internal",
	) {
		super(message);
	}
}

/**
 * The machine the call names does not exist on the data plane. Permanent, and distinct so a saga
 * can tell "refused" (the machine is as it was) from "gone" (the instance has nothing behind it).
 */
export class MachineNotFoundError extends PermanentDriverError {
	override readonly name: string = "MachineNotFoundError";
	constructor(instanceId: string) {
		super(`no machine ${instanceId} on the data plane`, "internal");
	}
}
