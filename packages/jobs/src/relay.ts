import type { Db } from "@igoudar/db";
import { operations, outbox } from "@igoudar/db";
import type { Queue } from "bullmq";
import { and, asc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { JobCatalog } from "./catalog";
import { findJob } from "./catalog";
import { BATCH_JOB, type BatchRun, batchJobId, MAX_BATCH_RUNS } from "./job-batches";
import { PollLoop } from "./loop";
import { TERMINAL_STATUSES } from "./operations";
import type { RedisConnectionFactory } from "./redis";
import { jobOptions, QueueSet } from "./redis";

/**
 * Moves committed outbox rows into BullMQ.
 *
 * Each batch locks its rows with `FOR UPDATE SKIP LOCKED`, so any number of relays in any number
 * of processes split the rows between them instead of sending one twice. The job id is the
 * operation id: if a relay dies after `queue.add` but before its transaction commits
 * `relayed_at`, the rows unlock, the next relay adds the same job id again and BullMQ ignores
 * the duplicate. Nothing is lost (the row stays until marked) and nothing runs twice.
 *
 * Rows of a `batched` job that one pass finds together go as one batch job per queue
 * (job-batches.ts), whose id is derived from the operations it carries: added again after such a
 * crash, the same rows make the same id. Should a later pass group them otherwise (other rows
 * arrived, or an add that timed out landed after all), an operation is carried twice and its
 * fence lets only one run act. Each row records the job it went out as (`job_id`).
 */

type OutboxRow = typeof outbox.$inferSelect;

export interface OutboxRelayOptions {
	db: Db;
	/** Supplies attempts and backoff per job name. */
	catalog: JobCatalog;
	connection: RedisConnectionFactory;
	/** BullMQ key prefix; workers must use the same one. */
	prefix: string;
	logger: Logger;
	/** Rows per transaction. */
	batchSize?: number;
	/** How often to look for rows nobody nudged about (other processes, retries). */
	pollIntervalMs?: number;
	/** Cap on the exponential wait before a row that failed to enqueue is tried again. */
	maxRetryDelayMs?: number;
	/** A batch holds row locks while it talks to Redis; this bounds how long one add may take. */
	enqueueTimeoutMs?: number;
}

export interface RelayBatchResult {
	relayed: number;
	failed: number;
}

export class OutboxRelay {
	/** Counts since construction, for metrics and tests. */
	readonly stats = { relayed: 0, failed: 0, batches: 0 };
	private readonly db: Db;
	private readonly catalog: JobCatalog;
	private readonly queues: QueueSet;
	private readonly logger: Logger;
	private readonly batchSize: number;
	private readonly maxRetryDelayMs: number;
	private readonly enqueueTimeoutMs: number;
	private readonly loop: PollLoop;

	constructor(options: OutboxRelayOptions) {
		this.db = options.db;
		this.catalog = options.catalog;
		this.logger = options.logger;
		this.batchSize = options.batchSize ?? 100;
		// Short enough that rows refused during a Redis outage follow within seconds of its end.
		this.maxRetryDelayMs = options.maxRetryDelayMs ?? 15_000;
		this.enqueueTimeoutMs = options.enqueueTimeoutMs ?? 10_000;
		this.queues = new QueueSet({
			connection: options.connection,
			prefix: options.prefix,
			connectionName: "igoudar-relay",
		});
		this.loop = new PollLoop(
			async () => {
				const { relayed, failed } = await this.relayBatch();
				// A full batch means more rows are probably due: go again without sleeping.
				return relayed + failed === this.batchSize;
			},
			options.pollIntervalMs ?? 1_000,
			// The database is down or the transaction failed: every row is still there; try later.
			(error) => this.logger.error({ err: error }, "outbox relay batch failed"),
		);
	}

	/** Relays one batch in one transaction and says how it went. */
	async relayBatch(): Promise<RelayBatchResult> {
		const result = await this.db.transaction(async (tx) => {
			const rows = await tx
				.select()
				.from(outbox)
				.where(and(isNull(outbox.relayedAt), lte(outbox.availableAt, sql`now()`)))
				.orderBy(asc(outbox.availableAt), asc(outbox.id))
				.limit(this.batchSize)
				.for("update", { skipLocked: true });
			if (rows.length === 0) return { relayed: 0, failed: 0 };

			const outcomes = await this.enqueueAll(rows);
			const relayedIds: number[] = [];
			const jobIds: string[] = [];
			for (const [index, outcome] of outcomes.entries()) {
				const row = rows[index];
				if (!row) continue;
				if (outcome.status === "fulfilled") {
					relayedIds.push(row.id);
					jobIds.push(outcome.value);
					continue;
				}
				const message = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
				const delayMs = Math.min(this.maxRetryDelayMs, 1_000 * 2 ** Math.min(row.relayAttempts, 20));
				this.logger.warn(
					{ operationId: row.operationId, job: row.jobName, attempt: row.relayAttempts + 1, err: message },
					"outbox relay could not enqueue; will retry",
				);
				await tx
					.update(outbox)
					.set({
						relayAttempts: sql`${outbox.relayAttempts} + 1`,
						lastError: message.slice(0, 2_000),
						availableAt: sql`now() + (${delayMs}::int * interval '1 millisecond')`,
					})
					.where(eq(outbox.id, row.id));
			}
			if (relayedIds.length > 0) {
				await tx.execute(sql`
					update ${outbox} set relayed_at = now(), job_id = added.job_id
					from unnest(${sql.param(relayedIds)}::bigint[], ${sql.param(jobIds)}::text[]) as added(id, job_id)
					where ${outbox.id} = added.id`);
			}
			return { relayed: relayedIds.length, failed: rows.length - relayedIds.length };
		});
		this.stats.batches += 1;
		this.stats.relayed += result.relayed;
		this.stats.failed += result.failed;
		return result;
	}

	/** Relays batches until none is due. Returns how many rows were relayed. */
	async relayAll(): Promise<number> {
		let total = 0;
		for (;;) {
			const { relayed, failed } = await this.relayBatch();
			total += relayed;
			if (relayed + failed < this.batchSize) return total;
		}
	}

	/** Starts the poll loop. Idempotent. */
	start(): void {
		this.loop.start();
	}

	/** Call after committing an outbox row: the loop wakes now instead of at its next poll. */
	nudge(): void {
		this.loop.wake();
	}

	/** Stops the loop after the batch in progress (its transaction commits or rolls back first). */
	async stop(): Promise<void> {
		await this.loop.stop();
		await this.queues.close();
	}

	/**
	 * Adds the rows' jobs with one `addBulk` per queue (one round trip of pipelined scripts, where
	 * one `add` a row made one each), and says per row how it went. A row whose job this relay does
	 * not know fails alone; a queue's bulk add succeeds or fails for all its rows, which is safe
	 * either way: job ids are operation ids, or derived from the operations a batch carries, so
	 * rows added before a failure are ignored as duplicates when they are relayed again.
	 */
	private async enqueueAll(rows: OutboxRow[]): Promise<PromiseSettledResult<string>[]> {
		const outcomes: PromiseSettledResult<string>[] = rows.map((row) => ({
			status: "fulfilled",
			value: row.operationId,
		}));
		const byQueue = new Map<string, number[]>();
		for (const [index, row] of rows.entries()) {
			// A newer release may have added the job; keep the row for a relay that knows it.
			if (!findJob(this.catalog, row.jobName)) {
				outcomes[index] = {
					status: "rejected",
					reason: new Error(`job ${row.jobName} is not in this relay's catalog`),
				};
				continue;
			}
			const indexes = byQueue.get(row.queue) ?? [];
			indexes.push(index);
			byQueue.set(row.queue, indexes);
		}
		await Promise.all(
			[...byQueue].map(async ([queue, indexes]) => {
				try {
					const jobIds = await this.addBulk(
						queue,
						indexes.map((index) => rows[index] as OutboxRow),
					);
					for (const [at, index] of indexes.entries()) {
						outcomes[index] = { status: "fulfilled", value: jobIds[at] ?? "" };
					}
				} catch (error) {
					for (const index of indexes) outcomes[index] = { status: "rejected", reason: error };
				}
			}),
		);
		return outcomes;
	}

	/** Adds one queue's rows and answers the job id each went out as. */
	private async addBulk(queue: string, rows: OutboxRow[]): Promise<string[]> {
		const jobIds = rows.map((row) => row.operationId);
		const jobs: Parameters<Queue["addBulk"]>[0] = [];
		const carried = rows.flatMap((row, index) => (findJob(this.catalog, row.jobName)?.batched ? [index] : []));
		for (let from = 0; from < carried.length; from += MAX_BATCH_RUNS) {
			const members = carried.slice(from, from + MAX_BATCH_RUNS);
			// A batch of one would only rename the job: it goes as its own, below.
			if (members.length < 2) continue;
			const runs: BatchRun[] = members.map((index) => {
				const row = rows[index] as OutboxRow;
				return { id: row.operationId, name: row.jobName, payload: row.payload };
			});
			const jobId = batchJobId(runs);
			for (const index of members) jobIds[index] = jobId;
			jobs.push({
				name: BATCH_JOB,
				data: { runs },
				opts: jobOptions(jobId, findJob(this.catalog, runs[0]?.name ?? "")),
			});
		}
		for (const [index, row] of rows.entries()) {
			if (jobIds[index] !== row.operationId) continue;
			jobs.push({
				name: row.jobName,
				data: row.payload,
				opts: jobOptions(row.operationId, findJob(this.catalog, row.jobName)),
			});
		}
		const add = this.queues.get(queue).addBulk(jobs);
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(
				() => reject(new Error(`enqueue timed out after ${this.enqueueTimeoutMs} ms`)),
				this.enqueueTimeoutMs,
			);
		});
		try {
			await Promise.race([add, timeout]);
			return jobIds;
		} finally {
			clearTimeout(timer);
			// A timed-out add may still reject later; that outcome is already recorded as a failure.
			add.catch(() => {});
		}
	}
}

/**
 * Deletes relayed outbox rows older than `olderThanMs` whose operation has ended. Rows of open
 * operations stay: the reconciler re-drives from them.
 */
export async function pruneRelayedOutbox(db: Db, olderThanMs: number): Promise<number> {
	const deleted = await db
		.delete(outbox)
		.where(
			and(
				lte(outbox.relayedAt, sql`now() - (${olderThanMs}::bigint * interval '1 millisecond')`),
				sql`exists (select 1 from ${operations} where ${operations.id} = ${outbox.operationId} and ${inArray(operations.status, [...TERMINAL_STATUSES])})`,
			),
		)
		.returning({ id: outbox.id });
	return deleted.length;
}
