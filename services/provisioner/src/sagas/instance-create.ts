import { releaseInstanceClaims, transitionInstance, transitionInstances } from "@igoudar/compute";
import type { Tx } from "@igoudar/db";
import { defineSaga, PermanentJobError } from "@igoudar/jobs";
import type { ComputeDriver } from "../drivers/driver";
import type { StorageDrivers } from "../drivers/storage-driver";
import type { InstanceSaga, InstanceSagaContext } from "./common";
import { drive, instanceIn } from "./common";
import {
	attachedToInstances,
	attachInstanceVolumes,
	detachInstanceVolumes,
	releaseInstanceVolumes,
} from "./instance-volumes";

/**
 * instance.create: the request already claimed quota and host capacity and wrote the instance as
 * `provisioning` with its host. The saga makes the machine exist and run; the instance becomes `running` in the transaction
 * that marks the operation succeeded. On a
 * permanent failure the undos tear the machine down and `onFailed` gives the claims back in the
 * transaction that fails the operation, so the instance ends `failed` holding nothing.
 */
export function instanceCreateSaga(driver: ComputeDriver, storage: StorageDrivers): InstanceSaga {
	return defineSaga({
		name: "instance.create",
		steps: [
			{
				name: "define_machine",
				async do(ctx) {
					const row = await instanceIn(ctx, ["provisioning"]);
					if (!row?.hostId) return { skipped: true };
					const spec = {
						instanceId: row.id,
						hostId: row.hostId,
						vcpus: row.vcpus,
						memoryMib: row.memoryMib,
						diskGib: row.diskGib,
					};
					await drive(ctx, "createInstance", () => driver.createInstance(spec, ctx.effect));
					return { skipped: false, hostId: row.hostId };
				},
				async undo(ctx) {
					// Also runs when `do` failed half-way or never ran: deleting what is absent is a no-op.
					if (ctx.data.skipped) return;
					await drive(ctx, "deleteInstance", () => driver.deleteInstance(ctx.payload.instance_id, ctx.effect));
				},
			},
			{
				// The volumes the request attached (`attaching`), before the machine first boots.
				name: "attach_volumes",
				async do(ctx) {
					if (!ctx.data.skipped) await attachInstanceVolumes(ctx, storage);
					return undefined;
				},
				async undo(ctx) {
					if (!ctx.data.skipped) await detachInstanceVolumes(ctx, storage);
				},
			},
			{
				name: "power_on",
				async do(ctx) {
					if (ctx.data.skipped) return undefined;
					await drive(ctx, "startInstance", () => driver.startInstance(ctx.payload.instance_id, ctx.effect));
					return undefined;
				},
				async undo(ctx) {
					if (ctx.data.skipped) return;
					await drive(ctx, "stopInstance", () => driver.stopInstance(ctx.payload.instance_id, ctx.effect));
				},
			},
		],
		async onSucceeded(ctx, tx) {
			const refusal = (await settleCreates([ctx], tx)).get(ctx.operationId);
			if (refusal) throw refusal;
		},
		onSucceededMany: settleCreates,
		async onFailed(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			await releaseInstanceClaims(tx, ctx.payload.instance_id, "fail");
			// Detached by the undos: the volumes are the tenant's again, attached to nothing.
			await releaseInstanceVolumes(tx, ctx.payload.instance_id);
		},
		async onAbandoned(ctx, _problem, tx) {
			if (ctx.data.skipped) return;
			// The machine may still exist, so the claims stay; a delete of the failed instance cleans up.
			await transitionInstance(tx, ctx.payload.instance_id, ["provisioning", "running"], "failed");
		},
	});
}

/**
 * The success of creates that reached their end together, in the transaction that marks their
 * operations succeeded, one UPDATE per table: each instance reads `running` exactly when its
 * create has succeeded, never before. A create whose instance is no longer provisioning is
 * refused (compensated by the runner) and nothing is written for it.
 */
async function settleCreates(ctxs: InstanceSagaContext[], tx: Tx): Promise<Map<string, Error>> {
	const live = ctxs.filter((ctx) => !ctx.data.skipped);
	const running = await transitionInstances(
		tx,
		live.map((ctx) => ctx.payload.instance_id),
		["provisioning"],
		"running",
	);
	await attachedToInstances(tx, [...running]);
	const refused = new Map<string, Error>();
	for (const ctx of live) {
		if (running.has(ctx.payload.instance_id)) continue;
		ctx.logger.error({ instanceId: ctx.payload.instance_id }, "instance left provisioning under the saga");
		refused.set(
			ctx.operationId,
			new PermanentJobError("conflict", "The instance changed state while it was being created."),
		);
	}
	return refused;
}
