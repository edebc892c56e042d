import { type Db, OPEN_OPERATION_STATUSES, OPERATION_SLOT_LOCK_SPACE, operations } from "@igoudar/db";
import { and, eq, inArray, sql } from "drizzle-orm";
import { ProblemError } from "./errors";

/**
 * Seconds a refused client is told to wait: operations of the simulated and real drivers end in
 * seconds, so a slot is usually free again by then.
 */
export const OPERATION_CAP_RETRY_AFTER_SECONDS = 5;

/**
 * Refuses a request that would start one more operation for a tenant that already has `cap` open,
 * with 429 `rate_limited` and Retry-After: it is a limit on how fast work is submitted, not a
 * quota on what is owned, and retrying later succeeds. Call it in the transaction that writes the
 * operation. Requests of one tenant are serialised from here to their commit (a transaction-level
 * advisory lock), so parallel requests never overshoot the cap. Take it before any exclusive row
 * lock (a create: shared locks on the tenant and flavor may come first, no holder of this lock
 * waits for those) or after the last one (an action on an existing resource): then no holder of
 * this lock ever waits for a lock that a transaction queued behind it holds.
 */
export async function claimOperationSlot(tx: Db, tenantId: string, cap: number): Promise<void> {
	await tx.execute(sql`select pg_advisory_xact_lock(${OPERATION_SLOT_LOCK_SPACE}, hashtext(${tenantId}))`);
	// Counting stops at the cap: the answer is the same, and a tenant with a long backlog costs no more.
	const open = tx
		.select({ one: sql`1` })
		.from(operations)
		.where(and(eq(operations.tenantId, tenantId), inArray(operations.status, [...OPEN_OPERATION_STATUSES])))
		.limit(cap)
		.as("open");
	const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(open);
	const inFlight = row?.n ?? 0;
	if (inFlight >= cap) throw operationCapReached(inFlight);
}

/** The 429 of a tenant whose open operations have reached the cap. */
export function operationCapReached(inFlight: number): ProblemError {
	return new ProblemError(
		"rate_limited",
		`The tenant has ${inFlight} operations in flight, the most it may have at once; retry when some have ended.`,
		{ headers: { "retry-after": String(OPERATION_CAP_RETRY_AFTER_SECONDS) } },
	);
}
