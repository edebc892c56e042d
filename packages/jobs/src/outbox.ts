import type { Tx } from "@igoudar/db";
import { operations, outbox } from "@igoudar/db";
import { sql } from "drizzle-orm";
import type { WithSubquery } from "drizzle-orm/subquery";
import type { JobDefinition, JobPayload } from "./catalog";
import { assertJobPayload } from "./catalog";
import type { OperationRow } from "./operations";

/**
 * The write side of the transactional outbox. A mutating request calls this inside the same
 * transaction that writes its resource: the resource, the operation and the intent to run a job
 * commit together or not at all. Nothing talks to Redis here; the relay does that after commit,
 * so a Redis outage never fails a request and a rolled-back request never starts a job.
 */

export interface EnqueueOperationInput<Definition extends JobDefinition> {
	/** Null for operator-level work that belongs to no tenant. */
	tenantId: string | null;
	/** What the operation does, as the API shows it, e.g. `instance.create`. */
	kind: string;
	targetType: string;
	targetId: string;
	job: Definition;
	/** Ids only: the worker reads everything else from the database when it runs. */
	payload: JobPayload<Definition>;
	/** Hold the job back until this time (the relay will not move it earlier). */
	availableAt?: Date;
}

/**
 * Inserts a pending operation and its outbox row in the caller's transaction and returns the
 * operation. Call `relay.nudge()` after the transaction commits for low latency; without it the
 * relay's poll picks the row up within its interval.
 */
export async function enqueueOperation<Definition extends JobDefinition>(
	tx: Tx,
	input: EnqueueOperationInput<Definition>,
	alongside: WithSubquery[] = [],
): Promise<OperationRow> {
	// Validate before writing so a bad payload fails the request, not a worker hours later.
	assertJobPayload(input.job, input.payload);
	// One statement: the operation, its outbox row and whatever the caller writes alongside (an
	// audit event) go in one round trip, which a create makes while it holds its tenant's locks.
	const operation = tx.$with(ENQUEUED).as(
		tx
			.insert(operations)
			.values({
				tenantId: input.tenantId,
				kind: input.kind,
				targetType: input.targetType,
				targetId: input.targetId,
				status: "pending",
			})
			.returning(),
	);
	const row = tx.$with("enqueued_outbox").as(
		tx
			.insert(outbox)
			.values({
				operationId: sql`(select ${sql.identifier("id")} from ${sql.identifier(ENQUEUED)})`,
				queue: input.job.queue,
				jobName: input.job.name,
				payload: input.payload as Record<string, unknown>,
				...(input.availableAt ? { availableAt: input.availableAt } : {}),
			})
			.returning({ id: outbox.id }),
	);
	// Every data-modifying CTE runs to completion whether or not the final SELECT reads it.
	const [written] = await tx
		.with(operation, row, ...alongside)
		.select()
		.from(operation);
	if (!written) throw new Error("insert into operations returned no row");
	return written;
}

const ENQUEUED = "enqueued_operation";
