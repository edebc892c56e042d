import type { Db, OperationStatus } from "@igoudar/db";
import { OPEN_OPERATION_STATUSES, operations } from "@igoudar/db";
import { and, asc, eq, gt, inArray, lt, sql } from "drizzle-orm";
import type { PgUpdateSetSource } from "drizzle-orm/pg-core";
import { Type } from "typebox";

/**
 * The operation state machine: pending -> running -> succeeded | failed, nothing else.
 *
 * Every transition is one UPDATE whose WHERE names the status it expects, so two workers (or a
 * worker and the reconciler) racing on the same row cannot both win: the loser's UPDATE matches
 * nothing and it is told so, instead of overwriting the winner after a stale read.
 */

export type OperationRow = typeof operations.$inferSelect;

export const TERMINAL_STATUSES: readonly OperationStatus[] = ["succeeded", "failed"];
export const OPEN_STATUSES: readonly OperationStatus[] = OPEN_OPERATION_STATUSES;

/** The RFC 9457 body stored in `operations.error` and shown as the operation's `error`. */
export interface OperationProblem {
	type: string;
	title: string;
	status: number;
	detail?: string;
	code: string;
	errors?: Record<string, unknown>[];
}

// The codes an operation can end with; the titles and statuses match the API-wide problem table.
const problemTitles: Record<string, [number, string]> = {
	no_capacity: [503, "No capacity"],
	quota_exceeded: [422, "Quota exceeded"],
	invalid_state: [409, "Invalid state for this action"],
	conflict: [409, "Conflict"],
	cancelled: [409, "Cancelled"],
	not_found: [404, "Not found"],
	unavailable: [503, "Service unavailable"],
	internal: [500, "Internal error"],
};

/**
 * Builds the problem body a failed operation carries. `internal` never shows a detail: it would
 * leak whatever the underlying exception said.
 */
export function operationProblem(code: string, detail?: string): OperationProblem {
	const [status, title] = problemTitles[code] ?? [500, "Operation failed"];
	const problem: OperationProblem = {
		type: `https://igoudar.dev/problems/${code.replaceAll("_", "-")}`,
		title,
		status,
		code,
	};
	if (detail !== undefined && code !== "internal") problem.detail = detail;
	return problem;
}

/** A transition the state machine does not allow, or one that lost a race to another writer. */
export class OperationTransitionError extends Error {
	readonly operationId: string;
	readonly to: OperationStatus;
	/** The status found instead of the expected one; undefined when the operation does not exist. */
	readonly current: OperationStatus | undefined;

	constructor(operationId: string, to: OperationStatus, current: OperationStatus | undefined, message?: string) {
		super(
			message ??
				(current === undefined
					? `Operation ${operationId} does not exist`
					: `Operation ${operationId} cannot move from ${current} to ${to}`),
		);
		this.name = "OperationTransitionError";
		this.operationId = operationId;
		this.to = to;
		this.current = current;
	}
}

/**
 * The run that tried to write no longer owns the operation: a later run took a newer fencing
 * token, or the operation was cancelled. The superseded run must stop without another effect.
 */
export class SupersededRunError extends OperationTransitionError {
	readonly fence: number;

	constructor(operationId: string, fence: number, current: OperationStatus) {
		super(operationId, "running", current, `Run ${fence} of operation ${operationId} was superseded`);
		this.name = "SupersededRunError";
		this.fence = fence;
	}
}

/**
 * One run of an operation: the operation id and the fencing token the run took when it started.
 * An `OperationRow` returned by `markRunning` is one.
 */
export interface OperationRun {
	id: string;
	fence: number;
}

type OperationUpdate = PgUpdateSetSource<typeof operations>;

async function transition(db: Db, run: OperationRun, to: OperationStatus, set: OperationUpdate): Promise<OperationRow> {
	const [row] = await db
		.update(operations)
		.set({ ...set, status: to, updatedAt: sql`now()` })
		.where(and(eq(operations.id, run.id), eq(operations.status, "running"), eq(operations.fence, run.fence)))
		.returning();
	if (row) return row;
	throw await explainRefusedWrite(db, run, to);
}

/**
 * Why a run's conditional write matched nothing: a later run holds the operation (superseded), or
 * it is not running. Only explains: the decision was already made by the refused UPDATE.
 */
export async function explainRefusedWrite(
	db: Db,
	run: OperationRun,
	to: OperationStatus,
): Promise<OperationTransitionError> {
	const [current] = await db
		.select({ status: operations.status, fence: operations.fence })
		.from(operations)
		.where(eq(operations.id, run.id));
	if (current && current.fence !== run.fence) return new SupersededRunError(run.id, run.fence, current.status);
	return new OperationTransitionError(run.id, to, current?.status);
}

/**
 * Starts a run: pending|running -> running with a fresh fencing token from the one global
 * sequence, in one conditional UPDATE. A job that is delivered again (a retry, a stalled job, a
 * re-drive) takes the operation over this way and resumes it; whichever run took its token last
 * owns the operation, and every write of an earlier run matches nothing from then on. Counted in
 * `attempts`; keeps the first `started_at`. A terminal operation refuses.
 */
export async function markRunning(db: Db, id: string): Promise<OperationRow> {
	const [row] = await db
		.update(operations)
		.set(START_RUN)
		.where(and(eq(operations.id, id), inArray(operations.status, [...OPEN_STATUSES])))
		.returning();
	if (row) return row;
	throw await explainRefusedStart(db, id);
}

/** Why `markRunning` matched nothing: the operation has ended, or does not exist. */
export async function explainRefusedStart(db: Db, id: string): Promise<OperationTransitionError> {
	const [current] = await db.select({ status: operations.status }).from(operations).where(eq(operations.id, id));
	return new OperationTransitionError(id, "running", current?.status);
}

/** What `markRunning` sets: shared with the batched start (operation-batches.ts). */
export const START_RUN = {
	status: "running",
	startedAt: sql`coalesce(${operations.startedAt}, now())`,
	attempts: sql`${operations.attempts} + 1`,
	fence: sql`nextval('operation_fence_seq')`,
	updatedAt: sql`now()`,
} satisfies OperationUpdate;

/**
 * Hands an open operation to a run of another operation (`by`, which took its token later than
 * any run of this one): a delete that settles the create it cancelled. Conditional on the
 * operation's token being older, so it never takes an operation from a run that started later.
 * Returns undefined when the operation has ended or a later run owns it.
 */
export async function takeOverRun(db: Db, id: string, by: OperationRun): Promise<OperationRow | undefined> {
	const [row] = await db
		.update(operations)
		.set({
			status: "running",
			startedAt: sql`coalesce(${operations.startedAt}, now())`,
			attempts: sql`${operations.attempts} + 1`,
			fence: by.fence,
			updatedAt: sql`now()`,
		})
		.where(and(eq(operations.id, id), inArray(operations.status, [...OPEN_STATUSES]), lt(operations.fence, by.fence)))
		.returning();
	return row;
}

/** Progress as stored: a whole percentage, 0-100. */
export function clampProgress(progress: number): number {
	return Math.max(0, Math.min(100, Math.round(progress)));
}

/**
 * Writes progress (0-100, omitted to keep it) and merges `stateMerge` into `operations.state`
 * (top-level keys replace). Also the heartbeat the reconciler watches: it bumps `updated_at`.
 * Only the run that owns the operation may write.
 */
export function reportProgress(
	db: Db,
	run: OperationRun,
	progress?: number,
	stateMerge?: Record<string, unknown>,
): Promise<OperationRow> {
	const set: OperationUpdate = {};
	if (progress !== undefined) set.progress = clampProgress(progress);
	if (stateMerge) set.state = sql`${operations.state} || ${JSON.stringify(stateMerge)}::jsonb`;
	return transition(db, run, "running", set);
}

/** Ends the run succeeded; `stateMerge` records the run's last bookkeeping in the same UPDATE. */
export function succeed(db: Db, run: OperationRun, stateMerge?: Record<string, unknown>): Promise<OperationRow> {
	const set: OperationUpdate = { progress: 100, error: null, completedAt: sql`now()` };
	if (stateMerge) set.state = sql`${operations.state} || ${JSON.stringify(stateMerge)}::jsonb`;
	return transition(db, run, "succeeded", set);
}

export function fail(db: Db, run: OperationRun, problem: OperationProblem): Promise<OperationRow> {
	return transition(db, run, "failed", { error: { ...problem }, completedAt: sql`now()` });
}

/**
 * Cancels every open operation on a target, in the caller's transaction (a delete of what is
 * still being made): each takes a fresh token, so the run in progress is superseded at its next
 * write, and is marked to compensate with a `cancelled` problem, so whichever run takes it next
 * undoes what was done instead of going on. Returns the ids of the operations cancelled.
 */
export async function cancelOpenOperations(db: Db, targetId: string, detail: string): Promise<string[]> {
	const compensating = JSON.stringify({ compensating: operationProblem("cancelled", detail) });
	const rows = await db
		.update(operations)
		.set({
			fence: sql`nextval('operation_fence_seq')`,
			state: sql`${operations.state} || ${compensating}::jsonb`,
			updatedAt: sql`now()`,
		})
		.where(and(eq(operations.targetId, targetId), inArray(operations.status, [...OPEN_STATUSES])))
		.returning({ id: operations.id });
	return rows.map((row) => row.id);
}

/** The open operations on a target created before `beforeId` (ids are time-ordered), oldest first. */
export function openOperationsBefore(db: Db, targetId: string, beforeId: string): Promise<OperationRow[]> {
	return db
		.select()
		.from(operations)
		.where(
			and(
				eq(operations.targetId, targetId),
				inArray(operations.status, [...OPEN_STATUSES]),
				lt(operations.id, beforeId),
			),
		)
		.orderBy(asc(operations.id));
}

export async function getOperation(
	db: Db,
	id: string,
	scope: { tenantId?: string } = {},
): Promise<OperationRow | undefined> {
	const conditions = [eq(operations.id, id)];
	if (scope.tenantId !== undefined) conditions.push(eq(operations.tenantId, scope.tenantId));
	const [row] = await db
		.select()
		.from(operations)
		.where(and(...conditions));
	return row;
}

export interface ListOperationsOptions {
	targetId?: string;
	status?: OperationStatus;
	/** Pass the page size + 1 to learn whether another page exists (see kit's toPage). */
	limit: number;
	/** The last id of the previous page. */
	after?: string;
}

/** A tenant's operations, oldest first: ids are time-ordered, so the id is the page cursor. */
export function listOperations(db: Db, tenantId: string, options: ListOperationsOptions): Promise<OperationRow[]> {
	const conditions = [eq(operations.tenantId, tenantId)];
	if (options.targetId !== undefined) conditions.push(eq(operations.targetId, options.targetId));
	if (options.status !== undefined) conditions.push(eq(operations.status, options.status));
	if (options.after !== undefined) conditions.push(gt(operations.id, options.after));
	return db
		.select()
		.from(operations)
		.where(and(...conditions))
		.orderBy(asc(operations.id))
		.limit(options.limit);
}

const Timestamp = Type.String({ format: "date-time" });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const OperationProblemSchema = Type.Object(
	{
		type: Type.String(),
		title: Type.String(),
		status: Type.Integer(),
		detail: Type.Optional(Type.String()),
		code: Type.String({ description: "Stable machine-readable error code, e.g. no_capacity." }),
		errors: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
	},
	{
		"x-schema-name": "OperationError",
		description: "RFC 9457 problem details: why the operation failed.",
		additionalProperties: false,
	},
);

export const OperationRetrySchema = Type.Object(
	{
		step: Type.String({ description: "The step that failed and will be tried again." }),
		attempt: Type.Integer({ minimum: 1, description: "Failed tries of this step so far." }),
		max_attempts: Type.Integer({ minimum: 1, description: "Tries before the operation gives up and rolls back." }),
		next_attempt_at: Timestamp,
		last_error: Type.Object(
			{ code: Type.String(), detail: Type.Optional(Type.String()) },
			{ additionalProperties: false, description: "Why the last try failed." },
		),
	},
	{
		"x-schema-name": "OperationRetry",
		description: "Present while a step is waiting to be tried again after a transient failure.",
		additionalProperties: false,
	},
);

/** The wire shape of an operation (API.md, Operations), named `Operation` in the spec. */
export const OperationSchema = Type.Object(
	{
		id: Type.String({ format: "uuid" }),
		kind: Type.String({ description: "What the operation does, e.g. instance.create." }),
		target_type: Type.String({ description: "The kind of resource the operation changes." }),
		target_id: Type.String({ format: "uuid" }),
		status: Type.Union([
			Type.Literal("pending"),
			Type.Literal("running"),
			Type.Literal("succeeded"),
			Type.Literal("failed"),
		]),
		progress: Type.Integer({ minimum: 0, maximum: 100 }),
		error: Type.Union([OperationProblemSchema, Type.Null()]),
		attempts: Type.Integer({
			minimum: 0,
			description: "Runs of the operation so far: the first, and each retry or resumption after a crash.",
		}),
		retry: Type.Union([OperationRetrySchema, Type.Null()]),
		created_at: Timestamp,
		started_at: NullableTimestamp,
		completed_at: NullableTimestamp,
	},
	{
		// Its name in the spec (the kit's SCHEMA_NAME; a `$id` would clash where one answer holds two).
		"x-schema-name": "Operation",
		description: "Long-running work and its progress.",
		additionalProperties: false,
		examples: [
			{
				id: "0193a5b2-7c50-7e32-8a4b-6c9d3e2f5a71",
				kind: "instance.create",
				target_type: "instance",
				target_id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
				status: "running",
				progress: 40,
				error: null,
				attempts: 1,
				retry: null,
				created_at: "2026-11-21T10:02:03Z",
				started_at: "2026-11-21T10:02:04Z",
				completed_at: null,
			},
		],
	},
);

export interface OperationView {
	id: string;
	kind: string;
	target_type: string;
	target_id: string;
	status: OperationStatus;
	progress: number;
	error: OperationProblem | null;
	attempts: number;
	retry: OperationRetryView | null;
	created_at: string;
	started_at: string | null;
	completed_at: string | null;
}

export interface OperationRetryView {
	step: string;
	attempt: number;
	max_attempts: number;
	next_attempt_at: string;
	last_error: { code: string; detail?: string };
}

export function presentOperation(row: OperationRow): OperationView {
	return {
		id: row.id,
		kind: row.kind,
		target_type: row.targetType,
		target_id: row.targetId,
		status: row.status,
		progress: row.progress,
		// Only the problem fields: anything else a writer put there stays internal.
		error: row.error ? pickProblem(row.error) : null,
		attempts: row.attempts,
		retry: OPEN_STATUSES.includes(row.status) ? pickRetry(row.state.retry) : null,
		created_at: row.createdAt.toISOString(),
		started_at: row.startedAt?.toISOString() ?? null,
		completed_at: row.completedAt?.toISOString() ?? null,
	};
}

function pickProblem(stored: Record<string, unknown>): OperationProblem {
	const code = typeof stored.code === "string" ? stored.code : "internal";
	const problem = operationProblem(code);
	if (typeof stored.type === "string") problem.type = stored.type;
	if (typeof stored.title === "string") problem.title = stored.title;
	if (typeof stored.status === "number") problem.status = stored.status;
	if (typeof stored.detail === "string") problem.detail = stored.detail;
	if (Array.isArray(stored.errors)) problem.errors = stored.errors as Record<string, unknown>[];
	return problem;
}

/** The saga runner's `state.retry`, as the API shows it; anything else it holds stays internal. */
function pickRetry(stored: unknown): OperationRetryView | null {
	if (!stored || typeof stored !== "object") return null;
	const retry = stored as Record<string, unknown>;
	const lastError = (retry.last_error ?? {}) as Record<string, unknown>;
	if (typeof retry.step !== "string" || typeof retry.attempt !== "number" || typeof retry.max_attempts !== "number") {
		return null;
	}
	const view: OperationRetryView = {
		step: retry.step,
		attempt: retry.attempt,
		max_attempts: retry.max_attempts,
		next_attempt_at: typeof retry.next_attempt_at === "string" ? retry.next_attempt_at : new Date().toISOString(),
		last_error: { code: typeof lastError.code === "string" ? lastError.code : "internal" },
	};
	if (typeof lastError.detail === "string") view.last_error.detail = lastError.detail;
	return view;
}
