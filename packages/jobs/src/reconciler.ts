import type { Db } from "@igoudar/db";
import { operations, outbox } from "@igoudar/db";
import { and, asc, eq, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { JobCatalog } from "./catalog";
import { findJob } from "./catalog";
import { PollLoop } from "./loop";
import { OPEN_STATUSES } from "./operations";
import type { RedisConnectionFactory } from "./redis";
import { jobOptions, LIVE_JOB_STATES, QueueSet } from "./redis";

/**
 * The reconciler: the guarantee that every operation ends succeeded or failed, even when the
 * process running it was killed, BullMQ gave up on a stalled job, or Redis lost the job.
 *
 * It looks for open operations whose `updated_at` (the saga heartbeat) is older than a threshold
 * and asks BullMQ about the job with the operation's id, and about the batch job that carried it
 * if one did (`outbox.job_id`). A job still waiting, delayed or active is left alone: it will
 * run, or BullMQ's stall check will hand it to another worker. When neither is, because they are
 * missing or finished although the operation is not, the operation's own job is added again with
 * its id from the outbox row, and the saga resumes from the steps recorded in the operation.
 */

export interface ReconcilerOptions {
	db: Db;
	catalog: JobCatalog;
	connection: RedisConnectionFactory;
	/** BullMQ key prefix, as used by the relay and the workers. */
	prefix: string;
	logger: Logger;
	/** How long an open operation may go without progress before its job is looked at. */
	staleAfterMs?: number;
	intervalMs?: number;
	batchSize?: number;
	/**
	 * Re-drives after which the saga is told to give up and compensate, so a job that kills its
	 * worker every time still ends (failed, with its resources released) instead of looping.
	 */
	maxRedrives?: number;
}

export interface ReconcileResult {
	/** Stale open operations looked at. */
	examined: number;
	/** Jobs added again. */
	redriven: number;
	/** Stale, but BullMQ still has the job waiting, delayed or active. */
	inProgress: number;
}

export class Reconciler {
	private readonly db: Db;
	private readonly catalog: JobCatalog;
	private readonly queues: QueueSet;
	private readonly logger: Logger;
	private readonly staleAfterMs: number;
	private readonly batchSize: number;
	private readonly maxRedrives: number;
	private readonly loop: PollLoop;

	constructor(options: ReconcilerOptions) {
		this.db = options.db;
		this.catalog = options.catalog;
		this.logger = options.logger;
		this.staleAfterMs = options.staleAfterMs ?? 5 * 60_000;
		this.batchSize = options.batchSize ?? 100;
		this.maxRedrives = options.maxRedrives ?? 5;
		this.queues = new QueueSet({
			connection: options.connection,
			prefix: options.prefix,
			connectionName: "igoudar-reconciler",
		});
		this.loop = new PollLoop(
			async () => {
				const result = await this.reconcileOnce();
				return result.examined === this.batchSize && result.redriven > 0;
			},
			options.intervalMs ?? 60_000,
			(error) => this.logger.error({ err: error }, "reconciler pass failed"),
		);
	}

	start(): void {
		this.loop.start();
	}

	async stop(): Promise<void> {
		await this.loop.stop();
		await this.queues.close();
	}

	async reconcileOnce(): Promise<ReconcileResult> {
		const result: ReconcileResult = { examined: 0, redriven: 0, inProgress: 0 };
		// Only relayed rows: an unrelayed one is the relay's to move, and adding it here as well
		// would race it for no gain.
		const stale = await this.db
			.select({
				id: operations.id,
				state: operations.state,
				queue: outbox.queue,
				jobName: outbox.jobName,
				payload: outbox.payload,
				jobId: outbox.jobId,
			})
			.from(operations)
			.innerJoin(outbox, eq(outbox.operationId, operations.id))
			.where(and(inArray(operations.status, [...OPEN_STATUSES]), this.isStale(), isNotNull(outbox.relayedAt)))
			.orderBy(asc(operations.updatedAt))
			.limit(this.batchSize);

		for (const row of stale) {
			result.examined += 1;
			try {
				const queue = this.queues.get(row.queue);
				const jobState = await queue.getJobState(row.id);
				const batchState = row.jobId && row.jobId !== row.id ? await queue.getJobState(row.jobId) : "unknown";
				if (LIVE_JOB_STATES.has(jobState) || LIVE_JOB_STATES.has(batchState)) {
					result.inProgress += 1;
					continue;
				}
				const redrives = (typeof row.state.redrives === "number" ? row.state.redrives : 0) + 1;
				const abandon = redrives > this.maxRedrives;
				// Claim the re-drive: bumping updated_at only if it is still stale means that of two
				// reconcilers looking at the same operation, one re-drives and the other skips it.
				const claimed = await this.db
					.update(operations)
					.set({
						updatedAt: sql`now()`,
						state: sql`${operations.state} || ${JSON.stringify(abandon ? { redrives, abandon } : { redrives })}::jsonb`,
					})
					.where(and(eq(operations.id, row.id), inArray(operations.status, [...OPEN_STATUSES]), this.isStale()))
					.returning({ id: operations.id });
				if (claimed.length === 0) continue;

				// A finished job keeps its id for a while; it must go before the id can be added again.
				if (jobState === "completed" || jobState === "failed") await queue.remove(row.id);
				await queue.add(row.jobName, row.payload, jobOptions(row.id, findJob(this.catalog, row.jobName)));
				result.redriven += 1;
				this.logger.warn(
					{ operationId: row.id, job: row.jobName, jobState, batch: row.jobId, batchState, redrives, abandon },
					"re-drove a stuck operation",
				);
			} catch (error) {
				// One bad row must not stop the others; it is looked at again after the threshold.
				this.logger.error({ err: error, operationId: row.id }, "could not re-drive operation");
			}
		}
		return result;
	}

	private isStale() {
		return lt(operations.updatedAt, sql`now() - (${this.staleAfterMs}::bigint * interval '1 millisecond')`);
	}
}
