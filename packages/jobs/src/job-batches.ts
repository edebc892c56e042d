import { createHash } from "node:crypto";
import type { Job, Queue } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { Type } from "typebox";
import { Compile } from "typebox/compile";
import type { JobDefinition } from "./catalog";
import type { QueueSet } from "./redis";
import { jobOptions, LIVE_JOB_STATES } from "./redis";
import { requestedBackoff } from "./retry";

/**
 * Batch jobs: several operations of one queue carried by one BullMQ job.
 *
 * A BullMQ job costs its worker a few Redis round trips and about as much Node time as a short
 * saga run itself (taking it, renewing its lock, completing it), and the sagas of a busy queue
 * already share their statements in PostgreSQL (OperationBatches). So when the relay moves
 * several rows of a job that allows it (`batched` in the catalog) in one pass, it adds one batch
 * job that names each operation, its job and its payload, instead of one job each.
 *
 * Nothing else changes for an operation. The worker runs each run of a batch as it runs a job of
 * its own: the same handler, the same fence taken on the operation, the same compensation. A run
 * that asks to be tried again later (a transient fault, a step's retry delay) leaves the batch as
 * a job of its own, with the operation's id as its job id and the delay it asked for, exactly the
 * job the relay would have added for it alone, and the batch completes without it. Should the
 * worker die half-way, BullMQ's stall check delivers the whole batch again: a run whose operation
 * has ended is skipped, one still open is taken over with a new fence, as for any job. The relay
 * writes the batch's id on each row (`outbox.job_id`), so the reconciler asks BullMQ about the
 * batch as well as the operation's own id before it re-drives anything.
 */

/** The job name of a batch in every queue; no catalog job may take it. */
export const BATCH_JOB = "batch";

/** The most runs one batch carries. */
export const MAX_BATCH_RUNS = 100;

/** One operation carried by a batch job. */
export interface BatchRun {
	/** The operation id: what its job id would be alone. */
	id: string;
	name: string;
	payload: Record<string, unknown>;
}

const BatchData = Type.Object(
	{
		runs: Type.Array(
			Type.Object(
				{
					id: Type.String({ minLength: 1, maxLength: 200 }),
					name: Type.String({ minLength: 1, maxLength: 128 }),
					payload: Type.Record(Type.String(), Type.Unknown()),
				},
				{ additionalProperties: false },
			),
			{ minItems: 1, maxItems: MAX_BATCH_RUNS },
		),
	},
	{ additionalProperties: false },
);
const batchData = Compile(BatchData);

/**
 * The id of the batch carrying these operations: the same runs give the same id, so a relay that
 * adds a batch again after a crash (its rows not yet marked) adds nothing twice; a different set
 * is a different batch, and an operation carried twice is run twice, which its fence makes safe.
 */
export function batchJobId(runs: readonly BatchRun[]): string {
	const hash = createHash("sha256");
	for (const id of runs.map((run) => run.id).sort()) hash.update(id).update("\n");
	return `batch-${hash.digest("hex").slice(0, 40)}`;
}

/** The runs of a batch job's data; a malformed batch cannot be fixed by retrying it. */
export function readBatchRuns(data: unknown): BatchRun[] {
	if (!batchData.Check(data)) throw new UnrecoverableError("malformed batch job");
	return data.runs;
}

/**
 * At most `limit` runs of a queue at once in a worker, whether they came as jobs of their own or
 * in batches: BullMQ's concurrency counts jobs, and a batch carries up to MAX_BATCH_RUNS runs.
 */
export class RunSlots {
	private free: number;
	private readonly waiting: (() => void)[] = [];

	constructor(limit: number) {
		this.free = Math.max(1, limit);
	}

	async run<T>(work: () => Promise<T>): Promise<T> {
		if (this.free > 0) this.free -= 1;
		else await new Promise<void>((resolve) => this.waiting.push(resolve));
		try {
			return await work();
		} finally {
			const next = this.waiting.shift();
			if (next) next();
			else this.free += 1;
		}
	}
}

/** How the worker runs one operation of a batch, as it would run that operation's own job. */
export type BatchRunHandler = (run: BatchRun, job: Job) => Promise<void>;

/**
 * Runs every run of a batch job, at most `slots` at once. A run that failed for good (its saga
 * compensated, its payload malformed) ends there, as its own job would. A run that failed in a
 * way its own job would retry becomes its own job, delayed as it asked. While the worker stops
 * (or the batch is cancelled) the runs not started yet become their own jobs at once, so a
 * shutdown waits only for the runs in progress. Only when a run cannot be queued on its own
 * (Redis is failing) does the batch fail, to be delivered again later; its ended runs are then
 * skipped by their operations, and its runs that left as jobs of their own are left to them.
 */
export async function runBatch(
	job: Job,
	options: {
		slots: RunSlots;
		queues: QueueSet;
		definitionOf: (name: string) => JobDefinition | undefined;
		handle: BatchRunHandler;
		onRunFailed: (run: BatchRun, error: unknown) => void;
		/** True once the worker is closing or the batch was cancelled. */
		stopping: () => boolean;
	},
): Promise<void> {
	const runs = readBatchRuns(job.data);
	const queue = options.queues.get(job.queueName);
	const again = job.attemptsMade > 0 || job.stalledCounter > 0;
	const unqueued: unknown[] = [];
	const alone = async (run: BatchRun, delay: number) => {
		try {
			await queueAlone(queue, run, options.definitionOf(run.name), delay);
		} catch (error) {
			unqueued.push(error);
		}
	};
	await Promise.all(
		runs.map(async (run) => {
			// A run that left the batch on an earlier delivery is its own job's to run, after its delay.
			if (again && LIVE_JOB_STATES.has(await queue.getJobState(run.id))) return;
			await options.slots.run(async () => {
				if (options.stopping()) return alone(run, 0);
				try {
					await options.handle(run, job);
				} catch (error) {
					options.onRunFailed(run, error);
					if (error instanceof UnrecoverableError) return;
					await alone(run, requestedBackoff(1, undefined, error instanceof Error ? error : undefined));
				}
			});
		}),
	);
	if (unqueued.length > 0) {
		throw new Error(`${unqueued.length} runs of batch ${job.id} could not be queued again`, { cause: unqueued[0] });
	}
}

/**
 * Adds a run as the job of its own the relay would have added for it. BullMQ ignores an add whose
 * id it still holds, and it keeps finished jobs for a while, so a finished job of that id (an
 * earlier delivery of the operation) goes first; a live one will run the operation already.
 */
async function queueAlone(queue: Queue, run: BatchRun, definition: JobDefinition | undefined, delay: number) {
	const state = await queue.getJobState(run.id);
	if (LIVE_JOB_STATES.has(state)) return;
	if (state === "completed" || state === "failed") await queue.remove(run.id);
	await queue.add(run.name, run.payload, jobOptions(run.id, definition, delay));
}
