import { releaseInstanceClaims, transitionInstance } from "@igoudar/compute";
import { defineSaga } from "@igoudar/jobs";
import type { ComputeDriver } from "../drivers/driver";
import type { StorageDrivers } from "../drivers/storage-driver";
import type { InstanceSaga } from "./common";
import { drive, instanceIn } from "./common";
import { detachInstanceVolumes, releaseInstanceVolumes } from "./instance-volumes";

/**
 * instance.delete: the request moved the instance to `deleting` and cancelled any operation still
 * open on it (a create still provisioning, a stop under way). The saga first settles those: each
 * is taken over and compensated with its own undos (a cancelled create gives its machine and
 * claims back), so the delete never waits on a worker that may be stuck. Then it powers the machine off
 * and removes it; only then, in the transaction that ends the operation, are quota and host
 * capacity given back and the row retired, so capacity is never free while a machine still
 * occupies it.
 *
 * Nothing here can be put back: a removed machine cannot be restored, and powering one on again
 * would serve nobody. So the undos do nothing and a permanent failure leaves the instance
 * `failed`, still holding its claims (its machine may still exist), from where a new delete may
 * be asked for.
 */
export function instanceDeleteSaga(driver: ComputeDriver, storage: StorageDrivers): InstanceSaga {
	return defineSaga({
		name: "instance.delete",
		settlesEarlierOperations: true,
		steps: [
			{
				name: "power_off",
				async do(ctx) {
					const row = await instanceIn(ctx, ["deleting"]);
					if (!row) return { skipped: true };
					await drive(ctx, "stopInstance", () => driver.stopInstance(row.id, ctx.effect));
					return { skipped: false };
				},
				// Left off: the instance is on its way out either way, see above.
				async undo() {},
			},
			{
				// The volumes outlive the instance: detached here, `available` again when it is gone.
				name: "detach_volumes",
				async do(ctx) {
					if (!ctx.data.skipped) await detachInstanceVolumes(ctx, storage);
					return undefined;
				},
				async undo() {},
			},
			{
				name: "delete_machine",
				async do(ctx) {
					if (ctx.data.skipped) return undefined;
					await drive(ctx, "deleteInstance", () => driver.deleteInstance(ctx.payload.instance_id, ctx.effect));
					return undefined;
				},
				// A deleted machine cannot be brought back; `onFailed` marks the instance failed instead.
				async undo() {},
			},
		],
		async onSucceeded(ctx, tx) {
			if (ctx.data.skipped) return;
			await releaseInstanceClaims(tx, ctx.payload.instance_id, "delete");
			await releaseInstanceVolumes(tx, ctx.payload.instance_id);
		},
		async onFailed(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			// Which of the machine's parts survived is unknown: `failed` is the only honest status.
			await transitionInstance(tx, ctx.payload.instance_id, ["deleting"], "failed");
		},
	});
}
