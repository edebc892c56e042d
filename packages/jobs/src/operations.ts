import type { Db, OperationStatus } from "@igoudar/db";
import { operations } from "@igoudar/db";
import { and, asc, eq, gt, inArray, sql } from "drizzle-orm";
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
export const OPEN_STATUSES: readonly OperationStatus[] = ["pending", "running"];

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
	not_found: [404, "Not found"],
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

	constructor(operationId: string, to: OperationStatus, current: OperationStatus | undefined) {
		super(
			current === undefined
				? `Operation ${operationId} does not exist`
				: `Operation ${operationId} cannot move from ${current} to ${to}`,
		);
		this.name = "OperationTransitionError";
		this.operationId = operationId;
		this.to = to;
		this.current = current;
	}
}

type OperationUpdate = PgUpdateSetSource<typeof operations>;

async function transition(
	db: Db,
	id: string,
	to: OperationStatus,
	from: readonly OperationStatus[],
	set: OperationUpdate,
): Promise<OperationRow> {
	const [row] = await db
		.update(operations)
		.set({ ...set, status: to, updatedAt: sql`now()` })
		.where(and(eq(operations.id, id), inArray(operations.status, [...from])))
		.returning();
	if (row) return row;
	// Only to explain the refusal: the decision was already made by the UPDATE above.
	const [current] = await db.select({ status: operations.status }).from(operations).where(eq(operations.id, id));
	throw new OperationTransitionError(id, to, current?.status);
}

/**
 * pending -> running. A job that is delivered again (a retry, a stalled job, a re-drive) finds the
 * operation already running and resumes it: that is allowed and counted in `attempts`, and keeps
 * the first `started_at`. A terminal operation refuses.
 */
export function markRunning(db: Db, id: string): Promise<OperationRow> {
	return transition(db, id, "running", OPEN_STATUSES, {
		startedAt: sql`coalesce(${operations.startedAt}, now())`,
		attempts: sql`${operations.attempts} + 1`,
	});
}

/**
 * Writes progress (0-100, omitted to keep it) and merges `stateMerge` into `operations.state`
 * (top-level keys replace). Also the heartbeat the reconciler watches: it bumps `updated_at`.
 * Only a running operation takes progress.
 */
export function reportProgress(
	db: Db,
	id: string,
	progress?: number,
	stateMerge?: Record<string, unknown>,
): Promise<OperationRow> {
	const set: OperationUpdate = {};
	if (progress !== undefined) set.progress = Math.max(0, Math.min(100, Math.round(progress)));
	if (stateMerge) set.state = sql`${operations.state} || ${JSON.stringify(stateMerge)}::jsonb`;
	return transition(db, id, "running", ["running"], set);
}

export function succeed(db: Db, id: string): Promise<OperationRow> {
	return transition(db, id, "succeeded", ["running"], { progress: 100, error: null, completedAt: sql`now()` });
}

export function fail(db: Db, id: string, problem: OperationProblem): Promise<OperationRow> {
	return transition(db, id, "failed", ["running"], { error: { ...problem }, completedAt: sql`now()` });
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
	{ description: "RFC 9457 problem details: why the operation failed.", additionalProperties: false },
);

/** The wire shape of an operation (API.md, Operations). Routes register it under their own $id. */
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
		created_at: Timestamp,
		started_at: NullableTimestamp,
		completed_at: NullableTimestamp,
	},
	{ description: "Long-running work and its progress.", additionalProperties: false },
);

export interface OperationView {
	id: string;
	kind: string;
	target_type: string;
	target_id: string;
	status: OperationStatus;
	progress: number;
	error: OperationProblem | null;
	created_at: string;
	started_at: string | null;
	completed_at: string | null;
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
