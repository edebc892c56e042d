import { type Db, simMachines } from "@igoudar/db";
import { Coalescer, failedWith, type ItemOutcome, succeeded } from "@igoudar/jobs";
import { eq } from "drizzle-orm";
import {
	admitFencesAndLookUp,
	FaultsPendingError,
	type FencedCall,
	recordEffects,
	type SimulationOptions,
	simulateCall,
	staleFenceErrors,
} from "./data-plane";
import {
	type ComputeDriver,
	type DriverAction,
	type DriverCall,
	type InstanceSpec,
	MachineNotFoundError,
} from "./driver";
import { createMachines, powerMachines } from "./simulated-batches";

export type SimulatedDriverOptions = SimulationOptions<DriverAction>;

/**
 * A data plane made of Postgres rows. Machines live in `sim_machines`; every effect actually
 * performed is appended to `sim_ledger`, so tests can prove a retried step did nothing twice and
 * a compensated saga left nothing behind. Faults come from random rates, or precisely from
 * `sim_faults` rows that tests (or operators, for drills) insert: the next N calls of an action
 * (for one instance, or any) fail, transiently or permanently.
 *
 * Each call runs in one transaction that first admits its fence for the machine (`sim_fences`
 * keeps the largest seen; a smaller one is refused) and checks its idempotency key against the
 * ledger, then has its effect and records it: as a real host agent would, so that fencing and
 * idempotency are proven against the same rows the effects are.
 */
export class SimulatedDriver implements ComputeDriver {
	readonly name = "simulated";
	/** The calls of one kind in flight together go as one (simulated-batches.ts). */
	private readonly creates: Coalescer<{ spec: InstanceSpec; call: DriverCall }, void>;
	private readonly starts: Coalescer<FencedCall, void>;

	constructor(
		private readonly db: Db,
		private readonly options: SimulatedDriverOptions = {},
	) {
		this.creates = new Coalescer(
			(items) =>
				this.batched(
					"createInstance",
					items,
					() => createMachines(db, items),
					(item) => this.createOne(item.spec, item.call),
				),
			{ keyOf: (item) => item.spec.instanceId },
		);
		this.starts = new Coalescer(
			(calls) =>
				this.batched(
					"startInstance",
					calls,
					() => powerMachines(db, calls, "startInstance", "on", "power_on"),
					(c) => this.power("startInstance", c.instanceId, "on", "power_on", c.call),
				),
			{ keyOf: (c) => c.instanceId },
		);
	}

	/**
	 * Sends a batch as one call when no fault can apply to it; while faults are injected (random
	 * or by `sim_faults`), each call goes on its own so each meets its fault as it would alone.
	 */
	private async batched<Item>(
		action: DriverAction,
		items: Item[],
		together: () => Promise<ItemOutcome<void>[]>,
		alone: (item: Item) => Promise<void>,
	): Promise<ItemOutcome<void>[]> {
		const oneByOne = () =>
			Promise.all(
				items.map((item) =>
					alone(item).then(
						() => succeeded(undefined),
						(error: unknown) => failedWith<void>(error),
					),
				),
			);
		if (items.length === 1 || (this.options.failureRate?.[action] ?? 0) > 0) return oneByOne();
		const latency =
			(this.options.latencyMs ?? 0) + (this.options.jitterMs ?? 0) * (this.options.random ?? Math.random)();
		if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
		try {
			return await together();
		} catch (error) {
			if (error instanceof FaultsPendingError) return oneByOne();
			throw error;
		}
	}

	private enter(action: DriverAction, instanceId: string): Promise<void> {
		return simulateCall(this.db, this.options, action, instanceId);
	}

	private record(tx: Db, instanceId: string, effect: string, call: DriverCall): Promise<void> {
		return recordEffects(tx, [{ instanceId, call }], effect);
	}

	/**
	 * One call: latency and faults, then in one transaction the fence, the idempotency check (was
	 * `effect` already carried out for this (operation, step, do|undo)?) and the effect.
	 */
	private async call(
		action: DriverAction,
		instanceId: string,
		call: DriverCall,
		effectName: string,
		effect: (tx: Db, repeated: boolean) => Promise<void>,
	): Promise<void> {
		await this.enter(action, instanceId);
		await this.db.transaction(async (transaction) => {
			const tx = transaction as unknown as Db;
			const fenced = { instanceId, call };
			const admission = (await admitFencesAndLookUp(tx, [fenced], effectName)).get(instanceId);
			if (!admission?.admitted) throw (await staleFenceErrors(tx, [fenced]))[0];
			await effect(tx, admission.repeated);
		});
	}

	createInstance(spec: InstanceSpec, call: DriverCall): Promise<void> {
		return this.creates.submit({ spec, call });
	}

	private createOne(spec: InstanceSpec, call: DriverCall): Promise<void> {
		return this.call("createInstance", spec.instanceId, call, "create", async (tx, repeated) => {
			if (repeated) return;
			const created = await tx
				.insert(simMachines)
				.values({ instanceId: spec.instanceId, hostId: spec.hostId, powerState: "off" })
				.onConflictDoNothing()
				.returning({ id: simMachines.instanceId });
			if (created.length === 1) await this.record(tx, spec.instanceId, "create", call);
		});
	}

	deleteInstance(instanceId: string, call: DriverCall): Promise<void> {
		return this.call("deleteInstance", instanceId, call, "delete", async (tx, repeated) => {
			if (repeated) return;
			const deleted = await tx
				.delete(simMachines)
				.where(eq(simMachines.instanceId, instanceId))
				.returning({ id: simMachines.instanceId });
			if (deleted.length === 1) await this.record(tx, instanceId, "delete", call);
		});
	}

	private power(action: DriverAction, instanceId: string, to: "on" | "off", effect: string, call: DriverCall) {
		return this.call(action, instanceId, call, effect, async (tx, repeated) => {
			const [machine] = await tx.select().from(simMachines).where(eq(simMachines.instanceId, instanceId)).for("update");
			// Powering off what does not exist is already done (an undo after a failed create).
			if (!machine && to === "off") return;
			if (!machine) throw new MachineNotFoundError(instanceId);
			if (machine.powerState === to || repeated) return;
			await tx
				.update(simMachines)
				.set({ powerState: to, updatedAt: new Date() })
				.where(eq(simMachines.instanceId, instanceId));
			await this.record(tx, instanceId, effect, call);
		});
	}

	startInstance(instanceId: string, call: DriverCall): Promise<void> {
		return this.starts.submit({ instanceId, call });
	}

	stopInstance(instanceId: string, call: DriverCall): Promise<void> {
		return this.power("stopInstance", instanceId, "off", "power_off", call);
	}

	rebootInstance(instanceId: string, call: DriverCall): Promise<void> {
		return this.call("rebootInstance", instanceId, call, "reboot", async (tx, repeated) => {
			const [machine] = await tx.select().from(simMachines).where(eq(simMachines.instanceId, instanceId));
			if (!machine) throw new MachineNotFoundError(instanceId);
			// A reboot leaves no state to compare; its idempotency key is what makes a repeat a no-op.
			if (repeated) return;
			await this.record(tx, instanceId, "reboot", call);
		});
	}
}
