import { type Db, simFaults, simLedger, simMachines } from "@igoudar/db";
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import {
	type ComputeDriver,
	type DriverAction,
	type InstanceSpec,
	MachineNotFoundError,
	PermanentDriverError,
	TransientDriverError,
} from "./driver";

export interface SimulatedDriverOptions {
	/** Delay of every call, in milliseconds (a fixed part plus a random part up to `jitterMs`). */
	latencyMs?: number;
	jitterMs?: number;
	/** Probability (0..1) that a call fails with a transient error, per action. */
	failureRate?: Partial<Record<DriverAction, number>>;
	random?: () => number;
}

/**
 * A data plane made of Postgres rows. Machines live in `sim_machines`; every effect actually
 * performed is appended to `sim_ledger`, so tests can prove a retried step did nothing twice and
 * a compensated saga left nothing behind. Faults come from random rates, or precisely from
 * `sim_faults` rows that tests (or operators, for drills) insert: the next N calls of an action
 * (for one instance, or any) fail, transiently or permanently.
 */
export class SimulatedDriver implements ComputeDriver {
	readonly name = "simulated";

	constructor(
		private readonly db: Db,
		private readonly options: SimulatedDriverOptions = {},
	) {}

	private async enter(action: DriverAction, instanceId: string): Promise<void> {
		const latency =
			(this.options.latencyMs ?? 0) + (this.options.jitterMs ?? 0) * (this.options.random ?? Math.random)();
		if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
		const [fault] = await this.db
			.update(simFaults)
			.set({ remaining: sql`${simFaults.remaining} - 1` })
			.where(
				sql`${simFaults.id} = (
					select ${simFaults.id} from ${simFaults}
					where ${and(
						eq(simFaults.action, action),
						gt(simFaults.remaining, 0),
						or(isNull(simFaults.instanceId), eq(simFaults.instanceId, instanceId)),
					)}
					order by ${simFaults.createdAt} limit 1 for update skip locked
				)`,
			)
			.returning({ kind: simFaults.kind });
		if (fault?.kind === "permanent")
			throw new PermanentDriverError(`injected permanent fault in ${action}`, "internal");
		if (fault?.kind === "transient") throw new TransientDriverError(`injected transient fault in ${action}`);
		const rate = this.options.failureRate?.[action] ?? 0;
		if (rate > 0 && (this.options.random ?? Math.random)() < rate) {
			throw new TransientDriverError(`simulated random fault in ${action}`);
		}
	}

	private async record(tx: Db, instanceId: string, effect: string): Promise<void> {
		await tx.insert(simLedger).values({ instanceId, effect });
	}

	async createInstance(spec: InstanceSpec): Promise<void> {
		await this.enter("createInstance", spec.instanceId);
		await this.db.transaction(async (tx) => {
			const created = await tx
				.insert(simMachines)
				.values({ instanceId: spec.instanceId, hostId: spec.hostId, powerState: "off" })
				.onConflictDoNothing()
				.returning({ id: simMachines.instanceId });
			if (created.length === 1) await this.record(tx as unknown as Db, spec.instanceId, "create");
		});
	}

	async deleteInstance(instanceId: string): Promise<void> {
		await this.enter("deleteInstance", instanceId);
		await this.db.transaction(async (tx) => {
			const deleted = await tx
				.delete(simMachines)
				.where(eq(simMachines.instanceId, instanceId))
				.returning({ id: simMachines.instanceId });
			if (deleted.length === 1) await this.record(tx as unknown as Db, instanceId, "delete");
		});
	}

	private async power(action: DriverAction, instanceId: string, to: "on" | "off", effect: string) {
		await this.enter(action, instanceId);
		await this.db.transaction(async (tx) => {
			const [machine] = await tx.select().from(simMachines).where(eq(simMachines.instanceId, instanceId)).for("update");
			// Powering off what does not exist is already done (an undo after a failed create).
			if (!machine && to === "off") return;
			if (!machine) throw new MachineNotFoundError(instanceId);
			if (machine.powerState === to) return;
			await tx
				.update(simMachines)
				.set({ powerState: to, updatedAt: new Date() })
				.where(eq(simMachines.instanceId, instanceId));
			await this.record(tx as unknown as Db, instanceId, effect);
		});
	}

	startInstance(instanceId: string): Promise<void> {
		return this.power("startInstance", instanceId, "on", "power_on");
	}

	stopInstance(instanceId: string): Promise<void> {
		return this.power("stopInstance", instanceId, "off", "power_off");
	}

	async rebootInstance(instanceId: string): Promise<void> {
		await this.enter("rebootInstance", instanceId);
		const [machine] = await this.db.select().from(simMachines).where(eq(simMachines.instanceId, instanceId));
		if (!machine) throw new MachineNotFoundError(instanceId);
		// A reboot has no lasting state to make idempotent: record it so tests can count them.
		await this.record(this.db, instanceId, "reboot");
	}
}
