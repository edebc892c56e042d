/**
 * The data-plane boundary. The control plane decides; a driver makes it so on real machines.
 * Every method is idempotent on the instance id: the saga may call it again after a crash or a
 * retry, and a second call must not repeat the effect (or fail because it already happened).
 */
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
	createInstance(spec: InstanceSpec): Promise<void>;
	/** Removes the machine; succeeds when it does not exist. */
	deleteInstance(instanceId: string): Promise<void>;
	startInstance(instanceId: string): Promise<void>;
	stopInstance(instanceId: string): Promise<void>;
	rebootInstance(instanceId: string): Promise<void>;
}

export type DriverAction = keyof Omit<ComputeDriver, "name">;

/** A fault the caller should retry (the data plane was busy or unreachable). */
export class TransientDriverError extends Error {
	override readonly name = "TransientDriverError";
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
