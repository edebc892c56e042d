import { type Db, runStatement, type Statement, simMachines } from "@igoudar/db";
import { failedWith, type ItemOutcome, succeeded } from "@igoudar/jobs";
import { sql } from "drizzle-orm";
import { admitFencesAndLookUp, type FencedCall, recordEffects, staleFenceErrors } from "./data-plane";
import { type DriverCall, type InstanceSpec, MachineNotFoundError } from "./driver";

/**
 * The simulated data plane's creates and power changes for many machines in one transaction:
 * what a host agent that takes a list of machines per call would do. Each machine is treated
 * exactly as a call of its own would be (its fence admitted or refused, its idempotency key
 * looked up in the ledger, its effect recorded), with one statement per step for all of them, so
 * a worker carrying many creates at once makes a few round trips where it made a few per create.
 * Fault injection is per call, so while any fault is set for the action the batch rolls back and
 * the driver takes the one-call path instead (SimulatedDriver).
 */

type Rows<Row> = { rows: Row[] };

const CREATE_MACHINES: Statement = {
	name: "sim_machines_create",
	// Arrays, one entry a machine: $1 instances, $2 hosts. A machine already there is left as it is.
	text: `
		insert into sim_machines (instance_id, host_id, power_state)
		select instance_id, host_id, 'off' from unnest($1::uuid[], $2::uuid[]) as m(instance_id, host_id)
		on conflict do nothing
		returning instance_id`,
};

/** `createInstance` for many machines: defined powered off, once per idempotency key. */
export async function createMachines(
	db: Db,
	items: { spec: InstanceSpec; call: DriverCall }[],
): Promise<ItemOutcome<void>[]> {
	const calls = items.map((item) => ({ instanceId: item.spec.instanceId, call: item.call }));
	const refused: FencedCall[] = [];
	await db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const admission = await admitFencesAndLookUp(tx, calls, "create", "createInstance");
		const fresh = items.filter((item) => {
			const state = admission.get(item.spec.instanceId);
			if (!state?.admitted) refused.push({ instanceId: item.spec.instanceId, call: item.call });
			return state?.admitted === true && !state.repeated;
		});
		if (fresh.length === 0) return;
		const created = await runStatement<{ instance_id: string }>(tx, CREATE_MACHINES, [
			fresh.map((item) => item.spec.instanceId),
			fresh.map((item) => item.spec.hostId),
		]);
		const ids = new Set(created.map((row) => row.instance_id));
		await recordEffects(
			tx,
			fresh
				.filter((item) => ids.has(item.spec.instanceId))
				.map((item) => ({ instanceId: item.spec.instanceId, call: item.call })),
			"create",
		);
	});
	const stale = await refusals(db, refused);
	return calls.map((c) => {
		const error = stale.get(c.instanceId);
		return error ? failedWith<void>(error) : succeeded(undefined);
	});
}

/** `startInstance`/`stopInstance` for many machines; a missing machine cannot be powered on. */
export async function powerMachines(
	db: Db,
	calls: FencedCall[],
	action: "startInstance" | "stopInstance",
	to: "on" | "off",
	effect: string,
): Promise<ItemOutcome<void>[]> {
	const refused: FencedCall[] = [];
	const missing = new Set<string>();
	await db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const admission = await admitFencesAndLookUp(tx, calls, effect, action);
		const admitted = calls.filter((c) => {
			if (!admission.get(c.instanceId)?.admitted) refused.push(c);
			return admission.get(c.instanceId)?.admitted === true;
		});
		if (admitted.length === 0) return;
		const machines = (await tx.execute(sql`
			select instance_id, power_state from ${simMachines}
			where instance_id = any(${sql.param(admitted.map((c) => c.instanceId))}::uuid[])
			order by instance_id
			for update`)) as unknown as Rows<{ instance_id: string; power_state: string }>;
		const states = new Map(machines.rows.map((row) => [row.instance_id, row.power_state]));
		const change: FencedCall[] = [];
		for (const c of admitted) {
			const state = states.get(c.instanceId);
			// Powering off what does not exist is already done (an undo after a failed create).
			if (state === undefined) {
				if (to === "on") missing.add(c.instanceId);
				continue;
			}
			if (state !== to && !admission.get(c.instanceId)?.repeated) change.push(c);
		}
		if (change.length === 0) return;
		await tx.execute(sql`
			update ${simMachines} set power_state = ${to}, updated_at = now()
			where instance_id = any(${sql.param(change.map((c) => c.instanceId))}::uuid[])`);
		await recordEffects(tx, change, effect);
	});
	const stale = await refusals(db, refused);
	return calls.map((c) => {
		const error =
			stale.get(c.instanceId) ?? (missing.has(c.instanceId) ? new MachineNotFoundError(c.instanceId) : undefined);
		return error ? failedWith<void>(error) : succeeded(undefined);
	});
}

async function refusals(db: Db, refused: FencedCall[]) {
	const errors = await staleFenceErrors(db, refused);
	return new Map(refused.map((c, index) => [c.instanceId, errors[index]]));
}
