import type { Job, WorkerOptions } from "bullmq";
import { UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { JobCatalog, JobPayload } from "./catalog";
import { assertJobPayload, catalogQueues, findJob, JobPayloadError } from "./catalog";
import { BATCH_JOB, RunSlots, runBatch } from "./job-batches";
import type { RedisConnectionFactory } from "./redis";
import { QueueSet, WORKER_CONNECTION, warnUnlessNoEviction } from "./redis";
import { requestedBackoff } from "./retry";

/**
 * The worker runner: one BullMQ Worker per queue of the catalog, dispatching each job to the
 * handler registered under its name, and each run of a batch job (job-batches.ts) to its own
 * job's handler. Start-up refuses a catalog whose jobs and handlers do not match one to one, so a
 * job cannot be enqueued that no process will ever run.
 */

/** What a handler gets for one delivery of a job. The job id is the operation id. */
export interface JobContext<Payload> {
	operationId: string;
	name: string;
	queue: string;
	payload: Payload;
	/** Failed tries before this one. */
	attemptsMade: number;
	maxAttempts: number;
	/** No retry follows if this try fails: the time to compensate rather than rethrow. */
	isFinalAttempt: boolean;
	logger: Logger;
	/** Aborted when the worker is force-closed or the job is cancelled. */
	signal?: AbortSignal;
}

export type JobHandler<Payload> = (job: JobContext<Payload>) => Promise<void>;

/** One handler per catalog job, keyed by job name. */
export type JobHandlers<Catalog extends JobCatalog> = {
	[Name in keyof Catalog]: JobHandler<JobPayload<Catalog[Name]>>;
};

export type WorkerTuning = Pick<WorkerOptions, "lockDuration" | "stalledInterval" | "maxStalledCount" | "drainDelay">;

export interface WorkerRunnerOptions<Catalog extends JobCatalog> {
	catalog: Catalog;
	handlers: JobHandlers<Catalog>;
	connection: RedisConnectionFactory;
	/** BullMQ key prefix; the relay and the reconciler must use the same one. */
	prefix: string;
	logger: Logger;
	/** Jobs run at once per queue: one number for all queues, or per queue name (default 5). */
	concurrency?: number | Record<string, number>;
	/**
	 * Lock and stall-check settings. Give every worker of a queue the same ones: a stall check
	 * also holds off the other workers' checks for its own `stalledInterval`.
	 */
	tuning?: WorkerTuning;
}

export interface WorkerRunner {
	readonly queues: readonly string[];
	/** `maxmemory-policy` as read at start, or undefined when Redis refused to say. */
	readonly evictionPolicy: string | undefined;
	/** Stops taking jobs, waits for the running ones to finish, then closes the connections. */
	close(): Promise<void>;
}

/** Throws unless every catalog job has a handler and every handler names a catalog job. */
export function assertHandlersMatchCatalog(catalog: JobCatalog, handlers: Record<string, unknown>): void {
	const missing = Object.keys(catalog).filter((name) => typeof handlers[name] !== "function");
	const unknown = Object.keys(handlers).filter((name) => !findJob(catalog, name));
	const problems: string[] = [];
	if (missing.length > 0) problems.push(`no handler for ${missing.join(", ")}`);
	if (unknown.length > 0) problems.push(`handlers for jobs not in the catalog: ${unknown.join(", ")}`);
	if (problems.length > 0) throw new Error(`Worker start-up refused: ${problems.join("; ")}`);
}

export async function startWorkers<Catalog extends JobCatalog>(
	options: WorkerRunnerOptions<Catalog>,
): Promise<WorkerRunner> {
	const { catalog, logger, prefix } = options;
	assertHandlersMatchCatalog(catalog, options.handlers);
	// The map is checked above and every payload is checked against its schema before the call,
	// so the handlers may be looked up by a job name that is only known at run time.
	const handlers = options.handlers as unknown as Record<string, JobHandler<Record<string, unknown>>>;

	const queues = catalogQueues(catalog);
	const connections: Redis[] = [];
	const workers: Worker[] = [];
	let evictionPolicy: string | undefined;

	// Set when close() begins: the batches in progress then start no more runs.
	let stopping = false;
	const concurrencyOf = (queue: string) =>
		typeof options.concurrency === "number" ? options.concurrency : (options.concurrency?.[queue] ?? 5);
	// Every run counts against its queue's concurrency, its own job's or a batch's, whatever
	// number of batches is taken.
	const slots = new Map(queues.map((queue) => [queue, new RunSlots(concurrencyOf(queue))]));
	// Where a run of a batch goes as a job of its own: to be tried again later, or not started
	// while the worker closes.
	const ownJobQueues = new QueueSet({
		connection: options.connection,
		prefix,
		connectionName: "igoudar-worker-own-jobs",
	});

	/** One operation's delivery: its own job, or one run of a batch (which always may be retried alone). */
	async function runOperation(
		run: { id: string; name: string; payload: unknown },
		job: Job,
		carried: boolean,
		signal?: AbortSignal,
	): Promise<void> {
		const definition = findJob(catalog, run.name);
		const handler = handlers[run.name];
		if (!definition || !handler) throw new UnrecoverableError(`no handler for job ${run.name}`);
		try {
			assertJobPayload(definition, run.payload);
		} catch (error) {
			// Retrying cannot fix a malformed payload.
			if (error instanceof JobPayloadError) throw new UnrecoverableError(error.message);
			throw error;
		}
		const maxAttempts = carried ? definition.attempts : (job.opts.attempts ?? 1);
		await handler({
			operationId: run.id,
			name: run.name,
			queue: job.queueName,
			payload: run.payload as Record<string, unknown>,
			attemptsMade: job.attemptsMade,
			maxAttempts,
			isFinalAttempt: !carried && job.attemptsMade + 1 >= maxAttempts,
			logger: logger.child({ job: run.name, operationId: run.id }),
			signal,
		});
	}

	async function processJob(job: Job, _token?: string, signal?: AbortSignal): Promise<void> {
		if (!job.id) throw new UnrecoverableError(`job ${job.name} has no id`);
		// A worker runs only its catalog's queues, each with its slots.
		const queueSlots = slots.get(job.queueName) as RunSlots;
		if (job.name !== BATCH_JOB) {
			const run = { id: job.id, name: job.name, payload: job.data };
			return queueSlots.run(() => runOperation(run, job, false, signal));
		}
		await runBatch(job, {
			slots: queueSlots,
			queues: ownJobQueues,
			definitionOf: (name) => findJob(catalog, name),
			handle: (run) => runOperation(run, job, true, signal),
			onRunFailed: (run, error) =>
				logger.warn(
					{ err: error, queue: job.queueName, job: run.name, operationId: run.id, batch: job.id },
					"job attempt failed",
				),
			stopping: () => stopping || signal?.aborted === true,
		});
	}

	try {
		for (const queue of queues) {
			// BullMQ's blocking commands must wait out a Redis restart rather than give up.
			const connection = options.connection({ ...WORKER_CONNECTION, connectionName: `igoudar-worker-${queue}` });
			connection.on("error", (error) => logger.warn({ err: error, queue }, "worker Redis connection error"));
			connections.push(connection);
			if (connections.length === 1) evictionPolicy = await warnUnlessNoEviction(connection, logger);

			const concurrency = concurrencyOf(queue);
			const worker = new Worker<Record<string, unknown>, void>(queue, processJob, {
				...options.tuning,
				connection,
				prefix,
				concurrency,
				settings: { backoffStrategy: requestedBackoff },
			});
			// Without a listener an 'error' event would crash the process; BullMQ reconnects by itself.
			worker.on("error", (error) => logger.error({ err: error, queue }, "worker error"));
			worker.on("failed", (job, error) => {
				// A batch's id names the batch, not an operation; its runs log their own failures.
				const id = job?.name === BATCH_JOB ? { batch: job.id } : { operationId: job?.id };
				logger.warn({ err: error, queue, job: job?.name, ...id }, "job attempt failed");
			});
			workers.push(worker);
		}
		await Promise.all(workers.map((worker) => worker.waitUntilReady()));
	} catch (error) {
		await closeAll(workers, connections, ownJobQueues);
		throw error;
	}
	logger.info({ queues, prefix }, "workers started");

	let closing: Promise<void> | undefined;
	return {
		queues,
		evictionPolicy,
		close() {
			stopping = true;
			closing ??= closeAll(workers, connections, ownJobQueues);
			return closing;
		},
	};
}

async function closeAll(workers: Worker[], connections: Redis[], ownJobQueues: QueueSet): Promise<void> {
	// close() waits for the jobs in progress; the connections were ours, BullMQ leaves them open.
	await Promise.allSettled(workers.map((worker) => worker.close()));
	await ownJobQueues.close();
	await Promise.allSettled(connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
}
