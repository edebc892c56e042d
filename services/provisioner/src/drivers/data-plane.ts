import { type Db, simFaults, simFences, simLedger } from "@igoudar/db";
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

/**
 * `admitFence`, and in the same statement whether the ledger already holds `ledgerKey` (the
 * effect this call would record): one round trip instead of two on every simulated call.
 */
export async function admitFenceAndLookUp(
	tx: Db,
	resourceId: string,
	call: DriverCall,
	ledgerKey: string,
): Promise<{ repeated: boolean }> {
	const result = (await tx.execute(sql`
		with admitted as (
			insert into ${simFences} (instance_id, fence) values (${resourceId}, ${call.fence})
			on conflict (instance_id) do update set fence = excluded.fence, updated_at = now()
			where ${simFences.fence} <= excluded.fence
			returning fence
		)
		select exists (select 1 from admitted) as admitted,
			exists (select 1 from ${simLedger} where ${simLedger.idempotencyKey} = ${ledgerKey}) as repeated`)) as unknown as {
		rows: { admitted: boolean; repeated: boolean }[];
	};
	const row = result.rows[0];
	if (row?.admitted) return { repeated: row.repeated };
	const [seen] = await tx.select().from(simFences).where(eq(simFences.instanceId, resourceId));
	throw new StaleFenceError(resourceId, call.fence, seen?.fence ?? 0);
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
