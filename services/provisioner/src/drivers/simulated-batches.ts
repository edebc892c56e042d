import { type Db, simFaults, simFences, simLedger, simMachines } from "@igoudar/db";
import { failedWith, type ItemOutcome, succeeded } from "@igoudar/jobs";
import { sql } from "drizzle-orm";
import { type DriverCall, type InstanceSpec, MachineNotFoundError, StaleFenceError } from "./driver";

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

export interface MachineCall {
	instanceId: string;
	call: DriverCall;
}

/**
 * A fault is set for the action: the batch was rolled back before any effect, and its calls go
 * one at a time so that each meets its fault as it would alone.
 */
export class FaultsPendingError extends Error {
	override readonly name = "FaultsPendingError";
}

/**
 * Admits every call's fence (locking each machine's fence row, in id order, until the commit) and
 * says which calls were admitted and which effects the ledger already holds.
 */
async function admitAll(
	tx: Db,
	calls: MachineCall[],
	action: string,
	effect: string,
): Promise<Map<string, { admitted: boolean; repeated: boolean }>> {
	const result = (await tx.execute(sql`
		with v as (
			select * from unnest(
				${sql.param(calls.map((c) => c.instanceId))}::uuid[],
				${sql.param(calls.map((c) => c.call.fence))}::bigint[],
				${sql.param(calls.map((c) => `${c.call.idempotencyKey}#${effect}`))}::text[]
			) as v(instance_id, fence, ledger_key)
		), admitted as (
			insert into ${simFences} (instance_id, fence)
			select instance_id, fence from v order by instance_id
			on conflict (instance_id) do update set fence = excluded.fence, updated_at = now()
			where ${simFences.fence} <= excluded.fence
			returning instance_id
		)
		select v.instance_id,
			exists (select 1 from admitted a where a.instance_id = v.instance_id) as admitted,
			exists (select 1 from ${simLedger} l where l.idempotency_key = v.ledger_key) as repeated,
			exists (
				select 1 from ${simFaults} f where f.action = ${action} and f.remaining > 0
			) as faulty
		from v`)) as unknown as Rows<{ instance_id: string; admitted: boolean; repeated: boolean; faulty: boolean }>;
	// Found in the same round trip as the admissions, which the rollback this causes undoes.
	if (result.rows.some((row) => row.faulty)) throw new FaultsPendingError(action);
	return new Map(result.rows.map((row) => [row.instance_id, { admitted: row.admitted, repeated: row.repeated }]));
}

async function record(tx: Db, calls: MachineCall[], effect: string): Promise<void> {
	if (calls.length === 0) return;
	await tx.insert(simLedger).values(
		calls.map((c) => ({
			instanceId: c.instanceId,
			effect,
			idempotencyKey: `${c.call.idempotencyKey}#${effect}`,
			fence: c.call.fence,
		})),
	);
}

/** The fence each refused machine has seen, for its StaleFenceError. */
async function staleFences(db: Db, calls: MachineCall[]): Promise<Map<string, StaleFenceError>> {
	if (calls.length === 0) return new Map();
	const seen = await db
		.select({ instanceId: simFences.instanceId, fence: simFences.fence })
		.from(simFences)
		.where(sql`${simFences.instanceId} = any(${sql.param(calls.map((c) => c.instanceId))}::uuid[])`);
	const fences = new Map(seen.map((row) => [row.instanceId, row.fence]));
	return new Map(
		calls.map((c) => [c.instanceId, new StaleFenceError(c.instanceId, c.call.fence, fences.get(c.instanceId) ?? 0)]),
	);
}

/** `createInstance` for many machines: defined powered off, once per idempotency key. */
export async function createMachines(
	db: Db,
	items: { spec: InstanceSpec; call: DriverCall }[],
): Promise<ItemOutcome<void>[]> {
	const calls = items.map((item) => ({ instanceId: item.spec.instanceId, call: item.call }));
	const refused: MachineCall[] = [];
	await db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const admission = await admitAll(tx, calls, "createInstance", "create");
		const fresh = items.filter((item) => {
			const state = admission.get(item.spec.instanceId);
			if (!state?.admitted) refused.push({ instanceId: item.spec.instanceId, call: item.call });
			return state?.admitted === true && !state.repeated;
		});
		if (fresh.length === 0) return;
		const created = await tx
			.insert(simMachines)
			.values(
				fresh.map((item) => ({
					instanceId: item.spec.instanceId,
					hostId: item.spec.hostId,
					powerState: "off" as const,
				})),
			)
			.onConflictDoNothing()
			.returning({ id: simMachines.instanceId });
		const ids = new Set(created.map((row) => row.id));
		await record(
			tx,
			fresh
				.filter((item) => ids.has(item.spec.instanceId))
				.map((item) => ({ instanceId: item.spec.instanceId, call: item.call })),
			"create",
		);
	});
	const stale = await staleFences(db, refused);
	return calls.map((c) => {
		const error = stale.get(c.instanceId);
		return error ? failedWith<void>(error) : succeeded(undefined);
	});
}

/** `startInstance`/`stopInstance` for many machines; a missing machine cannot be powered on. */
export async function powerMachines(
	db: Db,
	calls: MachineCall[],
	action: "startInstance" | "stopInstance",
	to: "on" | "off",
	effect: string,
): Promise<ItemOutcome<void>[]> {
	const refused: MachineCall[] = [];
	const missing = new Set<string>();
	await db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const admission = await admitAll(tx, calls, action, effect);
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
		const change: MachineCall[] = [];
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
		await record(tx, change, effect);
	});
	const stale = await staleFences(db, refused);
	return calls.map((c) => {
		const error =
			stale.get(c.instanceId) ?? (missing.has(c.instanceId) ? new MachineNotFoundError(c.instanceId) : undefined);
		return error ? failedWith<void>(error) : succeeded(undefined);
	});
}
