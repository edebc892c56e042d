import type { Db } from "@igoudar/db";
import { outbox } from "@igoudar/db";
import { UnrecoverableError } from "bullmq";
import { eq } from "drizzle-orm";
import type { Logger } from "pino";
import type { OperationBatches } from "./operation-batches";
import type { OperationProblem, OperationRow, OperationRun } from "./operations";
import {
	fail,
	getOperation,
	markRunning,
	OperationTransitionError,
	openOperationsBefore,
	operationProblem,
	reportProgress,
	SupersededRunError,
	succeed,
	TERMINAL_STATUSES,
	takeOverRun,
} from "./operations";
import type { RetryPolicy } from "./retry";
import { DEFAULT_RETRY_POLICY, RetryStepError, retryDelayMs, TransientJobError } from "./retry";
import type { AnySaga, Saga, SagaContext, SagaRegistry, SagaState, SagaStep, StepRetryState } from "./saga";
import { isPermanentError, PermanentJobError, readSagaState } from "./saga";
import type { JobContext, JobHandler } from "./worker";

/**
 * The saga runner. Every run starts by taking the operation with a fresh fencing token
 * (`markRunning`); every write it makes afterwards names that token, so when another delivery of
 * the same job takes the operation over, this run's next write matches nothing and it stops
 * (`superseded`) without another effect. Data-plane calls carry the token too (`ctx.effect`), so
 * the data plane can refuse a call that was already in flight when the run was superseded.
 *
 * A transient failure of a step is retried under the step's retry policy: the runner records the
 * step, the try and the error in `operations.state.retry` (the API shows it) and asks BullMQ to
 * deliver the job again after a capped, jittered delay. A permanent failure, or a step out of
 * tries, compensates: the undos run in reverse, and `onFailed` releases what the request claimed.
 */

export type SagaOutcome = "succeeded" | "failed" | "skipped" | "superseded";

export interface SagaRunOptions {
	/** The policy for every step that does not set its own (default: a few minutes of tries). */
	retry?: RetryPolicy;
	/** Sagas by operation kind, for the operations a saga settles before its first step. */
	sagas?: SagaRegistry;
	/**
	 * The worker's group-committed writes to `operations`: with them, runs in flight together
	 * share their statements (operation-batches.ts); without, each write is its own.
	 */
	batches?: OperationBatches;
}

/** Runs (or resumes) the saga for one delivery of a job and says how the run ended. */
export async function runSaga<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
	job: JobContext<Payload>,
	options: SagaRunOptions = {},
): Promise<SagaOutcome> {
	const id = job.operationId;
	const logger = job.logger.child({ operationId: id, saga: saga.name });
	let row: OperationRow;
	try {
		// One conditional UPDATE both reads and takes the operation; a finished one refuses it.
		row = await (options.batches ? options.batches.markRunning(id) : markRunning(db, id));
	} catch (error) {
		// A duplicate delivery of a finished job: nothing to do, and nothing may be redone.
		if (endedElsewhere(error)) return "skipped";
		if (error instanceof OperationTransitionError && error.current === undefined) {
			throw new UnrecoverableError(`operation ${id} does not exist`);
		}
		throw error;
	}
	const runner = new SagaRun(db, saga as unknown as AnySaga, row, job.payload, logger, options, job.attemptsMade + 1);
	try {
		return await runner.run(job.isFinalAttempt);
	} catch (error) {
		if (error instanceof SupersededRunError) {
			logger.warn({ fence: row.fence }, "run superseded by a later run of the operation; stopping");
			return "superseded";
		}
		if (endedElsewhere(error)) return "skipped";
		throw error;
	}
}

/**
 * A job handler that runs the saga. A saga that ended failed fails the BullMQ job without
 * retries, so dashboards show it failed while the operation row says why.
 */
export function sagaHandler<Payload, Data extends Record<string, unknown>>(
	db: Db,
	saga: Saga<Payload, Data>,
	options: SagaRunOptions = {},
): JobHandler<Payload> {
	return async (job) => {
		const outcome = await runSaga(db, saga, job, options);
		if (outcome === "failed") throw new UnrecoverableError(`saga ${saga.name} failed and was compensated`);
	};
}

/** Another run (a duplicate delivery) finished the operation while this one was working. */
function endedElsewhere(error: unknown): boolean {
	return (
		error instanceof OperationTransitionError &&
		error.current !== undefined &&
		TERMINAL_STATUSES.includes(error.current)
	);
}

function problemFor(error: unknown): OperationProblem {
	if (error instanceof PermanentJobError) return operationProblem(error.code, error.detail);
	if (error instanceof TransientJobError) return operationProblem(error.code, error.detail);
	return operationProblem("internal");
}

/** What the API may show of a transient error: its public code and sentence, or `internal`. */
function publicError(error: unknown): { code: string; detail?: string } {
	if (error instanceof TransientJobError) {
		return error.detail === undefined ? { code: error.code } : { code: error.code, detail: error.detail };
	}
	return { code: "internal" };
}

function progressOf(done: number, total: number): number {
	// 100 means finished; a run with all steps done still has to mark the operation succeeded.
	return Math.min(99, Math.floor((done / total) * 100));
}

type Ctx = SagaContext<unknown, Record<string, unknown>>;
type Step = SagaStep<unknown, Record<string, unknown>>;

/** One run of one operation, holding the run's fencing token. */
class SagaRun {
	private readonly state: SagaState;
	private readonly ctx: Ctx;
	private readonly token: OperationRun;
	private readonly steps: Step[];

	constructor(
		private readonly db: Db,
		private readonly saga: AnySaga,
		row: OperationRow,
		payload: unknown,
		private readonly logger: Logger,
		private readonly options: SagaRunOptions,
		attempt: number,
		/** Set when this run compensates another operation's saga on behalf of `run`. */
		run: OperationRun = row,
	) {
		this.token = { id: row.id, fence: run.fence };
		this.state = readSagaState(row.state);
		this.steps = saga.settlesEarlierOperations ? [this.settleStep(), ...saga.steps] : saga.steps;
		this.ctx = {
			operationId: row.id,
			tenantId: row.tenantId,
			targetId: row.targetId,
			payload,
			data: this.state.data,
			db,
			logger,
			attempt,
			run: this.token,
			effect: { operationId: row.id, fence: this.token.fence, idempotencyKey: `${row.id}/start` },
			heartbeat: () => this.write({}),
			remember: async (patch) => {
				Object.assign(this.ctx.data, patch);
				await this.write({ data: this.ctx.data });
			},
		};
	}

	private async write(merge: Record<string, unknown>, progress?: number): Promise<void> {
		const batches = this.options.batches;
		if (batches) await batches.reportProgress(this.token, progress, merge);
		else await reportProgress(this.db, this.token, progress, merge);
	}

	/** Marks the operation succeeded in the transaction that runs the saga's `onSucceeded`. */
	private async settleSuccess(merge: Record<string, unknown>): Promise<void> {
		const batches = this.options.batches;
		if (batches && this.saga.onSucceededMany) {
			await batches.succeed(this.saga, this.ctx, this.token, merge);
			return;
		}
		await this.db.transaction(async (tx) => {
			await this.saga.onSucceeded?.(this.ctx, tx);
			await succeed(tx, this.token, merge);
		});
	}

	private enter(step: string, phase: "do" | "undo"): void {
		this.ctx.effect = {
			operationId: this.token.id,
			fence: this.token.fence,
			idempotencyKey: `${this.token.id}/${step}/${phase}`,
		};
	}

	async run(finalDelivery: boolean): Promise<SagaOutcome> {
		const { state, logger } = this;
		let problem = state.compensating;
		if (!problem && state.abandon) {
			logger.error({ redrives: state.redrives }, "operation abandoned after repeated re-drives; compensating");
			problem = operationProblem("internal");
			await this.write({ compensating: problem });
		}
		if (!problem) {
			problem = await this.forward(finalDelivery);
			if (!problem) return "succeeded";
		}
		return this.compensate(problem);
	}

	/** Runs the steps not done yet; returns the problem to compensate with, or undefined on success. */
	private async forward(finalDelivery: boolean): Promise<OperationProblem | undefined> {
		const { state, ctx } = this;
		const last = this.steps[this.steps.length - 1];
		for (const step of this.steps) {
			if (state.done.includes(step.name)) continue;
			this.enter(step.name, "do");
			let output: Partial<Record<string, unknown>> | undefined;
			try {
				output = await step.do(ctx);
			} catch (error) {
				if (error instanceof SupersededRunError) throw error;
				if (!isPermanentError(error) && !finalDelivery) await this.retryUnlessOutOfTries(step, "do", error);
				const problem = problemFor(error);
				state.failedStep = step.name;
				this.logger.error({ err: error, step: step.name, code: problem.code }, "saga step failed; compensating");
				await this.write({ compensating: problem, failedStep: step.name, retry: null });
				return problem;
			}
			if (output) Object.assign(state.data, output);
			state.done.push(step.name);
			// The last step is recorded by the transaction that settles the success, one write
			// fewer; should that transaction not commit, a resumed run repeats the step, which is
			// idempotent (its data-plane call carries the same key).
			if (step === last) break;
			await this.write(
				{ done: state.done, data: state.data, retry: null },
				progressOf(state.done.length, this.steps.length),
			);
		}
		try {
			await this.settleSuccess({ done: state.done, data: state.data, retry: null });
		} catch (error) {
			if (error instanceof OperationTransitionError || !isPermanentError(error)) throw error;
			const problem = problemFor(error);
			this.logger.error({ err: error, code: problem.code }, "saga could not settle its success; compensating");
			await this.write({ compensating: problem, retry: null });
			return problem;
		}
		this.logger.info("saga succeeded");
		return undefined;
	}

	/**
	 * Records a failure of a step and throws `RetryStepError` to have the job delivered again after
	 * the policy's delay; returns only when the step is out of tries.
	 */
	private async retryUnlessOutOfTries(step: Step, phase: "do" | "undo", error: unknown): Promise<void> {
		const policy = { ...DEFAULT_RETRY_POLICY, ...this.options.retry, ...step.retry };
		const previous = this.state.retry;
		const attempt = previous && previous.step === step.name && previous.phase === phase ? previous.attempt + 1 : 1;
		if (attempt >= policy.attempts) return;
		const delayMs = retryDelayMs(policy, attempt);
		const retry: StepRetryState = {
			step: step.name,
			phase,
			attempt,
			max_attempts: policy.attempts,
			next_attempt_at: new Date(Date.now() + delayMs).toISOString(),
			last_error: publicError(error),
		};
		this.state.retry = retry;
		await this.write({ retry });
		this.logger.warn({ err: error, step: step.name, phase, attempt, delayMs }, "saga step failed; will retry");
		const message = error instanceof Error ? error.message : String(error);
		throw new RetryStepError(`${phase} ${step.name} failed (try ${attempt}): ${message}`, delayMs, error);
	}

	private async compensate(problem: OperationProblem): Promise<"failed"> {
		const { state, ctx } = this;
		// The step that failed, or for a run that crashed or was abandoned the first step not done,
		// may have half-done its work: undo it as well (undos cope with a `do` that never ran).
		const interrupted = state.failedStep ?? this.steps.find((step) => !state.done.includes(step.name))?.name;
		const pending = interrupted && !state.done.includes(interrupted) ? [interrupted] : [];
		for (const name of [...pending, ...[...state.done].reverse()]) {
			if (state.undone.includes(name)) continue;
			const step = this.steps.find((candidate) => candidate.name === name);
			if (step) {
				this.enter(name, "undo");
				try {
					await step.undo(ctx);
				} catch (error) {
					if (error instanceof SupersededRunError) throw error;
					// Compensation goes on until it completes: a permanent error is retried too, until
					// the step's tries (or the reconciler's re-drives) run out and it is abandoned.
					if (!state.abandon) await this.retryUnlessOutOfTries(step, "undo", error);
					return this.abandon(problem, name, error);
				}
			} else {
				this.logger.warn({ step: name }, "a done step no longer exists in the saga; nothing to undo");
			}
			state.undone.push(name);
			await this.write({ undone: state.undone, retry: null });
		}
		await this.db.transaction(async (tx) => {
			await this.saga.onFailed?.(ctx, problem, tx);
			await fail(tx, this.token, problem);
		});
		this.logger.info({ code: problem.code }, "saga compensated; operation failed");
		return "failed";
	}

	/**
	 * Ends an operation whose compensation cannot complete, so that it does not retry forever. The
	 * claims stay held: releasing them for a machine that may still exist would overcommit a host.
	 */
	private async abandon(problem: OperationProblem, step: string, error: unknown): Promise<"failed"> {
		this.logger.error(
			{ err: error, step, code: problem.code },
			"saga undo keeps failing; ending the operation failed with the undo left for an operator",
		);
		await this.db.transaction(async (tx) => {
			await this.saga.onAbandoned?.(this.ctx, problem, tx);
			await fail(tx, this.token, problem);
		});
		return "failed";
	}

	/**
	 * The first step of a saga that settles earlier operations (a delete of what is still being
	 * made): each open operation on the target created before this one is taken over with this
	 * run's token, which is newer than any of its own, and compensated here and now with its own
	 * saga's undos, so the delete never waits for a worker that may be stuck or dead.
	 */
	private settleStep(): Step {
		return {
			name: "settle_earlier_operations",
			do: async () => {
				for (const earlier of await openOperationsBefore(this.db, this.ctx.targetId, this.token.id)) {
					await this.settle(earlier);
				}
				return undefined;
			},
			undo: async () => {},
		};
	}

	private async settle(earlier: OperationRow): Promise<void> {
		const saga = this.options.sagas?.[earlier.kind];
		if (!saga) throw new Error(`no saga is registered for ${earlier.kind} operations`);
		const taken = await takeOverRun(this.db, earlier.id, this.token);
		if (!taken) {
			const now = await getOperation(this.db, earlier.id);
			if (now && TERMINAL_STATUSES.includes(now.status)) return;
			// A later delivery of its own job owns it and is compensating it (it was marked cancelled).
			throw new TransientJobError("conflict", "Waiting for an earlier operation on this resource to end.");
		}
		const [row] = await this.db
			.select({ payload: outbox.payload })
			.from(outbox)
			.where(eq(outbox.operationId, earlier.id));
		const problem =
			readSagaState(taken.state).compensating ??
			operationProblem("cancelled", "A later operation on this resource cancelled this one.");
		const logger = this.logger.child({ settling: earlier.id, saga: saga.name });
		const run = new SagaRun(this.db, saga, taken, row?.payload ?? {}, logger, this.options, taken.attempts, this.token);
		try {
			await run.compensate(problem);
		} catch (error) {
			if (!(error instanceof OperationTransitionError)) throw error;
			// Taken back by a later delivery of its own job, which finishes the compensation, or ended.
			const now = await getOperation(this.db, earlier.id);
			if (now && TERMINAL_STATUSES.includes(now.status)) return;
			throw new TransientJobError("conflict", "Waiting for an earlier operation on this resource to end.");
		}
	}
}
