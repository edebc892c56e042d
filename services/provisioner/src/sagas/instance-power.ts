import { transitionInstance } from "@igoudar/compute";
import type { InstanceStatus } from "@igoudar/db";
import { defineSaga } from "@igoudar/jobs";
import type { ComputeDriver, DriverAction } from "../drivers/driver";
import { MachineNotFoundError } from "../drivers/driver";
import type { InstanceSaga, InstanceSagaContext } from "./common";
import { drive, instanceIn } from "./common";

/**
 * instance.start, instance.stop and instance.reboot share one shape: the request moved the
 * instance to a transitional status, the saga asks the driver for one change, and the
 * transaction that ends the operation settles the status: `to` on success, `from` again on
 * failure (the instance is as it was), or `failed` when the machine turned out not to exist.
 */
interface PowerSagaSpec {
	name: "instance.start" | "instance.stop" | "instance.reboot";
	step: string;
	/** The status before the request, restored when the action fails. */
	from: InstanceStatus;
	/** The transitional status the request set. */
	during: InstanceStatus;
	to: InstanceStatus;
	action: MachineAction;
	/** Puts the machine back the way `from` says it is; absent when nothing lasting changed. */
	restore?: MachineAction;
}

/** The driver calls that take only the instance id. */
type MachineAction = Exclude<DriverAction, "createInstance">;

function powerSaga(driver: ComputeDriver, spec: PowerSagaSpec): InstanceSaga {
	const call = (ctx: InstanceSagaContext, action: MachineAction) =>
		drive(ctx, action, () => driver[action](ctx.payload.instance_id, ctx.effect));
	return defineSaga({
		name: spec.name,
		steps: [
			{
				name: spec.step,
				async do(ctx) {
					if (!(await instanceIn(ctx, [spec.during]))) return { skipped: true };
					await call(ctx, spec.action);
					return { skipped: false };
				},
				async undo(ctx) {
					const restore = spec.restore;
					if (ctx.data.skipped || ctx.data.machineMissing || !restore) return;
					try {
						await driver[restore](ctx.payload.instance_id, ctx.effect);
					} catch (error) {
						// Nothing to put back on a machine that is gone; the status will say `failed`.
						if (!(error instanceof MachineNotFoundError)) throw error;
						await ctx.remember({ machineMissing: true });
					}
				},
			},
		],
		async onSucceeded(ctx, tx) {
			if (ctx.data.skipped) return;
			await transitionInstance(tx, ctx.payload.instance_id, [spec.during], spec.to);
		},
		async onFailed(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			const status = ctx.data.machineMissing ? "failed" : spec.from;
			await transitionInstance(tx, ctx.payload.instance_id, [spec.during], status);
		},
		async onAbandoned(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			// The power state could not be put back: only `failed` (deletable) is honest.
			await transitionInstance(tx, ctx.payload.instance_id, [spec.during], "failed");
		},
	});
}

export function instanceStartSaga(driver: ComputeDriver): InstanceSaga {
	// A start that failed half-way may have left the machine on while the instance says stopped.
	return powerSaga(driver, {
		name: "instance.start",
		step: "power_on",
		from: "stopped",
		during: "starting",
		to: "running",
		action: "startInstance",
		restore: "stopInstance",
	});
}

export function instanceStopSaga(driver: ComputeDriver): InstanceSaga {
	return powerSaga(driver, {
		name: "instance.stop",
		step: "power_off",
		from: "running",
		during: "stopping",
		to: "stopped",
		action: "stopInstance",
		restore: "startInstance",
	});
}

export function instanceRebootSaga(driver: ComputeDriver): InstanceSaga {
	// A reboot leaves nothing lasting to undo: the machine is on before and after.
	return powerSaga(driver, {
		name: "instance.reboot",
		step: "reboot",
		from: "running",
		during: "rebooting",
		to: "running",
		action: "rebootInstance",
	});
}
