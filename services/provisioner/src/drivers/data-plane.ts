import { type Db, runStatement, type Statement, simFaults, simFences, simLedger } from "@igoudar/db";
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { type DriverCall, PermanentDriverError, StaleFenceError, TransientDriverError } from "./driver";

/**
 * What every driver shares: the fences it keeps per resource, and the simulated drivers' latency
 * and fault injection.
 */

/**
 * Admits the call's fence for the resource, or refuses it with `StaleFenceError`. The upsert
 * locks the resource's fence row until the caller's transaction ends, so calls for one resource
 * are admitted one at a time and an effect made inside that transaction can never happen under a
 * fence that a later call has already replaced. (`sim_fences` keeps the fences of every driver,
 * simulated or not, keyed by the resource's id.)
 */
export async function admitFence(tx: Db, resourceId: string, call: DriverCall): Promise<void> {
	const admitted = await tx
		.insert(simFences)
		.values({ instanceId: resourceId, fence: call.fence })
		.onConflictDoUpdate({
			target: simFences.instanceId,
			set: { fence: call.fence, updatedAt: sql`now()` },
			setWhere: sql`${simFences.fence} <= ${call.fence}`,
		})
		.returning({ fence: simFences.fence });
	if (admitted.length === 1) return;
	const [seen] = await tx.select().from(simFences).where(eq(simFences.instanceId, resourceId));
	throw new StaleFenceError(resourceId, call.fence, seen?.fence ?? 0);
}

/** A call for one machine: whose fence and idempotency key the data plane judges. */
export interface FencedCall {
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

const ledgerKey = (c: FencedCall, effect: string) => `${c.call.idempotencyKey}#${effect}`;

/**
 * `admitFence` for every call at once (each machine's fence row locked, in id order, until the
 * commit), and in the same statement whether the ledger already holds the effect each call would
 * record: one round trip for one call or many. With `faultsOf`, the same statement also looks for
 * an injected fault of that action and throws `FaultsPendingError` if there is one (the caller's
 * rollback undoes the admissions).
 */
export async function admitFencesAndLookUp(
	tx: Db,
	calls: FencedCall[],
	effect: string,
	faultsOf?: string,
): Promise<Map<string, { admitted: boolean; repeated: boolean }>> {
	const result = (await tx.execute(sql`
		with v as (
			select * from unnest(
				${sql.param(calls.map((c) => c.instanceId))}::uuid[],
				${sql.param(calls.map((c) => c.call.fence))}::bigint[],
				${sql.param(calls.map((c) => ledgerKey(c, effect)))}::text[]
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
			${faultsOf === undefined ? sql`false` : sql`exists (select 1 from ${simFaults} f where f.action = ${faultsOf} and f.remaining > 0)`} as faulty
		from v`)) as unknown as {
		rows: { instance_id: string; admitted: boolean; repeated: boolean; faulty: boolean }[];
	};
	if (result.rows.some((row) => row.faulty)) throw new FaultsPendingError(faultsOf);
	return new Map(result.rows.map((row) => [row.instance_id, { admitted: row.admitted, repeated: row.repeated }]));
}

/** The refusal of each call whose fence was not admitted: the fence its machine has seen. */
export async function staleFenceErrors(db: Db, calls: FencedCall[]): Promise<StaleFenceError[]> {
	if (calls.length === 0) return [];
	const seen = await db
		.select({ instanceId: simFences.instanceId, fence: simFences.fence })
		.from(simFences)
		.where(sql`${simFences.instanceId} = any(${sql.param(calls.map((c) => c.instanceId))}::uuid[])`);
	const fences = new Map(seen.map((row) => [row.instanceId, row.fence]));
	return calls.map((c) => new StaleFenceError(c.instanceId, c.call.fence, fences.get(c.instanceId) ?? 0));
}

const RECORD_EFFECTS: Statement = {
	name: "sim_ledger_record",
	// Arrays, one entry a call: $1 instances, $2 idempotency keys, $3 fences; $4 the effect.
	text: `
		insert into sim_ledger (instance_id, effect, idempotency_key, fence)
		select instance_id, $4, idempotency_key, fence
		from unnest($1::uuid[], $2::text[], $3::bigint[]) as e(instance_id, idempotency_key, fence)`,
};

/**
 * Appends the effects carried out to the ledger, under each call's key and fence: one fixed
 * statement from arrays, so a batch of any size builds nothing per call.
 */
export async function recordEffects(tx: Db, calls: FencedCall[], effect: string): Promise<void> {
	if (calls.length === 0) return;
	await runStatement(tx, RECORD_EFFECTS, [
		calls.map((c) => c.instanceId),
		calls.map((c) => ledgerKey(c, effect)),
		calls.map((c) => c.call.fence),
		effect,
	]);
}

export interface SimulationOptions<Action extends string> {
	/** Delay of every call, in milliseconds (a fixed part plus a random part up to `jitterMs`). */
	latencyMs?: number;
	jitterMs?: number;
	/** Probability (0..1) that a call fails with a transient error, per action. */
	failureRate?: Partial<Record<Action, number>>;
	random?: () => number;
}

/**
 * The latency of a simulated call, then the fault it is due, if any: the oldest `sim_faults` row
 * for the action (for this resource, or any) with calls left, else the random rate.
 */
export async function simulateCall<Action extends string>(
	db: Db,
	options: SimulationOptions<Action>,
	action: Action,
	resourceId: string,
): Promise<void> {
	const random = options.random ?? Math.random;
	const latency = (options.latencyMs ?? 0) + (options.jitterMs ?? 0) * random();
	if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
	const [fault] = await db
		.update(simFaults)
		.set({ remaining: sql`${simFaults.remaining} - 1` })
		.where(
			sql`${simFaults.id} = (
				select ${simFaults.id} from ${simFaults}
				where ${and(
					eq(simFaults.action, action),
					gt(simFaults.remaining, 0),
					or(isNull(simFaults.instanceId), eq(simFaults.instanceId, resourceId)),
				)}
				order by ${simFaults.createdAt} limit 1 for update skip locked
			)`,
		)
		.returning({ kind: simFaults.kind });
	if (fault?.kind === "permanent") throw new PermanentDriverError(`injected permanent fault in ${action}`, "internal");
	if (fault?.kind === "transient") throw new TransientDriverError(`injected transient fault in ${action}`);
	const rate = options.failureRate?.[action] ?? 0;
	if (rate > 0 && random() < rate) throw new TransientDriverError(`simulated random fault in ${action}`);
}
