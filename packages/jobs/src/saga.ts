import type { Db, Tx } from "@igoudar/db";
import { UnrecoverableError } from "bullmq";
import type { Logger } from "pino";
import type { OperationProblem, OperationRun } from "./operations";
import type { RetryPolicy } from "./retry";

/**
 * The saga runner. A provisioning job is an ordered list of steps, each idempotent and each with
 * an idempotent undo. The runner keeps its bookkeeping in `operations.state`, written after every
 * step, so a job that is delivered again (BullMQ retry, stalled job, reconciler re-drive) resumes
 * where the last run stopped instead of repeating finished work, and a compensation that was cut
 * short resumes too instead of undoing a step twice. The runner itself is in saga-run.ts.
 */

/**
 * What a data-plane call made by a step carries. The fence lets the data plane refuse the call of
 * a run that has been superseded (it has seen a larger one for the same resource); the key, one
 * per (operation, step, do|undo), lets it recognise a call it has already carried out.
 */
export interface EffectToken {
	operationId: string;
	fence: number;
	idempotencyKey: string;
}

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
	/** This run: the operation id and the fencing token every write of the run names. */
	run: OperationRun;
	/** For the data-plane call of the step or undo being run now. */
	effect: EffectToken;
	/** For a long step: tells the reconciler the operation is alive (bumps updated_at). */
	heartbeat(): Promise<void>;
	/**
	 * Merges into `data` and persists it now. The runner persists what a step returns only when
	 * the step succeeds; this is for what a failing step or an undo learns.
	 */
	remember(patch: Partial<Data>): Promise<void>;
}

export interface SagaStep<Payload, Data extends Record<string, unknown>> {
	name: string;
	/** Must be idempotent. What it returns is merged into `ctx.data` and persisted with the step. */
	do(ctx: SagaContext<Payload, Data>): Promise<Partial<Data> | undefined>;
	/** Must be idempotent and must cope with a `do` that never ran or ran half-way. */
	undo(ctx: SagaContext<Payload, Data>): Promise<void>;
	/** Overrides the runner's retry policy for this step (e.g. a slow copy that needs longer). */
	retry?: Partial<RetryPolicy>;
}

export interface Saga<Payload, Data extends Record<string, unknown> = Record<string, unknown>> {
	name: string;
	steps: SagaStep<Payload, Data>[];
	/** Runs in the transaction that marks the operation succeeded (e.g. resource status -> active). */
	onSucceeded?(ctx: SagaContext<Payload, Data>, tx: Tx): Promise<void>;
	/**
	 * `onSucceeded` for the runs of many operations at once, in one transaction and set-based: the
	 * runner settles concurrent successes with one statement per table instead of a transaction
	 * each (operation-batches.ts). Answers the runs it refused, by operation id, with the error
	 * `onSucceeded` would have thrown, having written nothing for them. Optional: without it each
	 * success has its own transaction.
	 */
	onSucceededMany?(ctxs: SagaContext<Payload, Data>[], tx: Tx): Promise<Map<string, Error>>;
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
	/**
	 * Before its first step, cancel and compensate the open operations on the same target that
	 * were created before this one (a delete of what is still being made). The request that
	 * created this operation has already marked them cancelled.
	 */
	settlesEarlierOperations?: boolean;
}

/**
 * A saga of any payload, as kept in a registry by operation kind (steps are methods, so a saga of
 * a narrower payload fits; each is only ever run with its own operation's payload).
 */
export type AnySaga = Saga<unknown, Record<string, unknown>>;

/** The sagas a worker runs, by operation kind (= job name). */
export type SagaRegistry = Record<string, AnySaga>;

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

/** A step waiting to be tried again, as kept in `operations.state.retry` and shown by the API. */
export interface StepRetryState {
	step: string;
	phase: "do" | "undo";
	attempt: number;
	max_attempts: number;
	next_attempt_at: string;
	last_error: { code: string; detail?: string };
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
	retry?: StepRetryState;
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
		retry: state.retry && typeof state.retry === "object" ? (state.retry as StepRetryState) : undefined,
	};
}

export function isPermanentError(error: unknown): boolean {
	return error instanceof UnrecoverableError || (error instanceof Error && error.name === "UnrecoverableError");
}
