import type { Db, Tx } from "@igoudar/db";
import { UnrecoverableError } from "bullmq";
import type { Logger } from "pino";
import type { OperationProblem, OperationRow } from "./operations";
import {
	fail,
	getOperation,
	markRunning,
	OperationTransitionError,
	operationProblem,
	reportProgress,
	succeed,
	TERMINAL_STATUSES,
} from "./operations";
import type { JobContext, JobHandler } from "./worker";

/**
 * The saga runner. A provisioning job is an ordered list of steps, each idempotent and each with
 * an idempotent undo. The runner keeps its bookkeeping in `operations.state`, written after every
 * step, so a job that is delivered again (BullMQ retry, stalled job, reconciler re-drive) resumes
 * where the last run stopped instead of repeating finished work, and a compensation that was cut
 * short resumes too instead of undoing a step twice.
 */

export interface SagaContext<Payload, Data extends Record<string, unknown>> {
	operationId: string;
	tenantId: string | null;
	targetId: string;
	payload: Payload;
	/** What earlier steps returned, persisted, so a resumed run sees it though it skipped them. */
	data: Partial<Data>;
	db: Db;
	logger: Logger;
	/** 1 for the first delivery of this job. */
	attempt: number;
	/** For a long step: tells the reconciler the operation is alive (bumps updated_at). */
	heartbeat(): Promise<void>;
}

export interface SagaStep<Payload, Data extends Record<string, unknown>> {
	name: string;
	/** Must be idempotent. What it returns is merged into `ctx.data` and persisted with the step. */
	do(ctx: SagaContext<Payload, Data>): Promise<Partial<Data> | undefined>;
	/** Must be idempotent and must cope with a `do` that never ran or ran half-way. */
	undo(ctx: SagaContext<Payload, Data>): Promise<void>;
}

export interface Saga<Payload, Data extends Record<string, unknown> = Record<string, unknown>> {
	name: string;
	steps: SagaStep<Payload, Data>[];
	/** Runs in the transaction that marks the operation succeeded (e.g. resource status -> active). */
	onSucceeded?(ctx: SagaContext<Payload, Data>, tx: Tx): Promise<void>;
	/**
	 * Runs after the undos, in the transaction that marks the operation failed, so capacity and
	 * quota are released exactly when, and only if, the operation ends failed.
	 */
	onFailed?(ctx: SagaContext<Payload, Data>, problem: OperationProblem, tx: Tx): Promise<void>;
	/**
	 * Runs instead of `onFailed` when compensation itself cannot finish (an undo kept failing past
	 * the re-drive limit). The operation still ends failed, but what the undos could not clean up
	 * is still there, so nothing may be released: leave the resource in a state a user or operator
	 * can act on (e.g. `failed`, deletable) rather than stuck in a transition.
	 */
	onAbandoned?(ctx: SagaContext<Payload, Data>, problem: OperationProblem, tx: Tx): Promise<void>;
}

export function defineSaga<Payload, Data extends Record<string, unknown> = Record<string, unknown>>(
	saga: Saga<Payload, Data>,
): Saga<Payload, Data> {
	const names = saga.steps.map((step) => step.name);
	const duplicate = names.find((name, index) => names.indexOf(name) !== index);
	// The bookkeeping is by step name: two steps with one name would skip each other.
	if (duplicate !== undefined) throw new Error(`Saga ${saga.name} has two steps named ${duplicate}`);
	if (names.length === 0) throw new Error(`Saga ${saga.name} has no steps`);
	return saga;
}

/**
 * A failure no retry can fix, with the problem code the operation should end with
 * (e.g. `no_capacity`). It is an UnrecoverableError, so BullMQ does not retry it either.
 */
export class PermanentJobError extends UnrecoverableError {
	readonly code: string;
	readonly detail: string | undefined;

	constructor(code: string, detail?: string) {
		super(detail ?? code);
		this.name = "PermanentJobError";
		this.code = code;
		this.detail = detail;
	}
}

/** The saga's part of `operations.state`. The reconciler writes `redrives` and `abandon`. */
export interface SagaState {
	done: string[];
	undone: string[];
	data: Record<string, unknown>;
	/** Set when compensation starts: from then on every run compensates, none goes forward. */
	compensating?: OperationProblem;
	/** The step that failed; it may have half-done its work, so it is undone too. */
	failedStep?: string;
	redrives?: number;
	abandon?: boolean;
}

const strings = (value: unknown): string[] =>
	Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

export function readSagaState(state: Record<string, unknown>): SagaState {
	const data = state.data;
	const compensating = state.compensating;
	return {
		done: strings(state.done),
		undone: strings(state.undone),
		data: data && typeof data === "object" && !Array.isArray(data) ? { ...(data as Record<string, unknown>) } : {},
		compensating: compensating && typeof compensating === "object" ? (compensating as OperationProblem) : undefined,
		failedStep: typeof state.failedStep === "string" ? state.failedStep : undefined,
		redrives: typeof state.redrives === "number" ? state.redrives : undefined,
		abandon: state.abandon === true,
	};
}

export function isPermanentError(error: unknown): boolean {
	return error instanceof UnrecoverableError || (error instanceof Error && error.name === "UnrecoverableError");
}

function problemFor(error: unknown): OperationProblem {
	if (error instanceof PermanentJobError) return operationProblem(error.code, error.detail);
	return operationProblem("internal");
}

export type SagaOutcome = "succeeded" | "failed" | "skipped";

/**
 * Runs (or resumes) the saga for one delivery of a job. Returns how the operation ended, or
 * "skipped" when it had already ended. Throws a transient error as is, so BullMQ retries it with
 * backoff; a permanent error, or any error on the last attempt, is compensated instead.
 */
export async function runSaga<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
	job: JobContext<Payload>,
): Promise<SagaOutcome> {
	const id = job.operationId;
	const logger = job.logger.child({ operationId: id, saga: saga.name });
	const existing = await getOperation(db, id);
	if (!existing) throw new UnrecoverableError(`operation ${id} does not exist`);
	// A duplicate delivery of a finished job: nothing to do, and nothing may be redone.
	if (TERMINAL_STATUSES.includes(existing.status)) return "skipped";
	let row: OperationRow;
	try {
		row = await markRunning(db, id);
	} catch (error) {
		if (endedElsewhere(error)) return "skipped";
		throw error;
	}

	const state = readSagaState(row.state);
	const ctx: SagaContext<Payload, Data> = {
		operationId: id,
		tenantId: row.tenantId,
		targetId: row.targetId,
		payload: job.payload,
		data: state.data as Partial<Data>,
		db,
		logger,
		attempt: job.attemptsMade + 1,
		heartbeat: async () => {
			await reportProgress(db, id);
		},
	};

	let problem = state.compensating;
	if (!problem && state.abandon) {
		logger.error({ redrives: state.redrives }, "operation abandoned after repeated re-drives; compensating");
		problem = operationProblem("internal");
		await reportProgress(db, id, undefined, { compensating: problem });
	}
	try {
		if (!problem) {
			let current: string | undefined;
			try {
				for (const step of saga.steps) {
					if (state.done.includes(step.name)) continue;
					current = step.name;
					const output = await step.do(ctx);
					if (output) Object.assign(state.data, output);
					state.done.push(step.name);
					await reportProgress(db, id, progressOf(state.done.length, saga.steps.length), {
						done: state.done,
						data: state.data,
					});
				}
				current = undefined;
				await db.transaction(async (tx) => {
					await saga.onSucceeded?.(ctx, tx);
					await succeed(tx, id);
				});
				logger.info("saga succeeded");
				return "succeeded";
			} catch (error) {
				if (error instanceof OperationTransitionError) throw error;
				if (!isPermanentError(error) && !job.isFinalAttempt) {
					logger.warn({ err: error, step: current, attempt: ctx.attempt }, "saga step failed; BullMQ will retry");
					throw error;
				}
				problem = problemFor(error);
				state.failedStep = current;
				logger.error({ err: error, step: current, code: problem.code }, "saga failed permanently; compensating");
				await reportProgress(db, id, undefined, { compensating: problem, failedStep: current ?? null });
			}
		}
		await compensate(db, saga, ctx, state, problem);
		return "failed";
	} catch (error) {
		if (endedElsewhere(error)) return "skipped";
		throw error;
	}
}

/** Another run (a duplicate delivery) finished the operation while this one was working. */
function endedElsewhere(error: unknown): boolean {
	return (
		error instanceof OperationTransitionError &&
		error.current !== undefined &&
		TERMINAL_STATUSES.includes(error.current)
	);
}

function progressOf(done: number, total: number): number {
	// 100 means finished; a run with all steps done still has to mark the operation succeeded.
	return Math.min(99, Math.floor((done / total) * 100));
}

async function compensate<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
	ctx: SagaContext<Payload, Data>,
	state: SagaState,
	problem: OperationProblem,
): Promise<void> {
	const id = ctx.operationId;
	// The step that failed, or for a run that crashed or was abandoned the first step not done,
	// may have half-done its work: undo it as well (undos cope with a `do` that never ran).
	const interrupted = state.failedStep ?? saga.steps.find((step) => !state.done.includes(step.name))?.name;
	const pending = interrupted && !state.done.includes(interrupted) ? [interrupted] : [];
	const order = [...pending, ...[...state.done].reverse()];
	for (const name of order) {
		if (state.undone.includes(name)) continue;
		const step = saga.steps.find((candidate) => candidate.name === name);
		if (step) {
			try {
				await step.undo(ctx);
			} catch (error) {
				if (state.abandon) {
					await abandon(db, saga, ctx, problem, name, error);
					return;
				}
				ctx.logger.error({ err: error, step: name }, "saga undo failed; compensation will be retried");
				// Compensation must go on until it completes, so never let an undo stop the retries.
				throw isPermanentError(error)
					? new Error(`undo of ${name} failed: ${(error as Error).message}`, { cause: error })
					: error;
			}
		} else {
			ctx.logger.warn({ step: name }, "a done step no longer exists in the saga; nothing to undo");
		}
		state.undone.push(name);
		await reportProgress(db, id, undefined, { undone: state.undone });
	}
	await db.transaction(async (tx) => {
		await saga.onFailed?.(ctx, problem, tx);
		await fail(tx, id, problem);
	});
	ctx.logger.info({ code: problem.code }, "saga compensated; operation failed");
}

/**
 * Ends an operation whose compensation cannot complete, so that it does not retry forever. The
 * claims stay held: releasing them for a machine that may still exist would overcommit a host.
 */
async function abandon<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
	ctx: SagaContext<Payload, Data>,
	problem: OperationProblem,
	step: string,
	error: unknown,
): Promise<void> {
	ctx.logger.error(
		{ err: error, step, code: problem.code },
		"saga undo keeps failing after repeated re-drives; ending the operation failed with the undo left for an operator",
	);
	await db.transaction(async (tx) => {
		await saga.onAbandoned?.(ctx, problem, tx);
		await fail(tx, ctx.operationId, problem);
	});
}

/**
 * A job handler that runs the saga. A saga that ended failed fails the BullMQ job without
 * retries, so dashboards show it failed while the operation row says why.
 */
export function sagaHandler<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
): JobHandler<Payload> {
	return async (job) => {
		const outcome = await runSaga(db, saga, job);
		if (outcome === "failed") throw new UnrecoverableError(`saga ${saga.name} failed and was compensated`);
	};
}
