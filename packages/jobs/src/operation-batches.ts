import type { Db, Tx } from "@igoudar/db";
import { operations } from "@igoudar/db";
import { and, inArray, sql, TransactionRollbackError } from "drizzle-orm";
import { Coalescer, failedWith, type ItemOutcome, succeeded } from "./coalescer";
import type { OperationRow, OperationRun } from "./operations";
import { clampProgress, explainRefusedStart, explainRefusedWrite, OPEN_STATUSES, START_RUN } from "./operations";
import type { AnySaga, SagaContext } from "./saga";

/**
 * The saga runner's writes to `operations`, group-committed across the runs one worker process
 * has in flight: the starts, the progress and bookkeeping after each step, and the successes of
 * sagas that can settle many at once. Each is the same conditional write as its one-run version
 * in operations.ts (the same status and fence conditions, one row per run), only sent as one
 * statement for every run that reached it together, so a worker carrying many operations makes
 * one round trip where it made one per operation. A write a batch refused is explained per run,
 * as the one-run version does: superseded, ended, or missing.
 */

interface ProgressWrite {
	run: OperationRun;
	progress: number | undefined;
	merge: Record<string, unknown> | undefined;
}

interface SuccessWrite {
	ctx: SagaContext<unknown, Record<string, unknown>>;
	run: OperationRun;
	merge: Record<string, unknown>;
}

type Rows<Row> = { rows: Row[] };

export class OperationBatches {
	private readonly starts: Coalescer<string, OperationRow>;
	private readonly progress: Coalescer<ProgressWrite, void>;
	private readonly successes = new Map<AnySaga, Coalescer<SuccessWrite, void>>();

	constructor(private readonly db: Db) {
		// Two deliveries of one operation must not share a statement: both would read one fence.
		this.starts = new Coalescer((ids) => this.start(ids), { keyOf: (id) => id });
		this.progress = new Coalescer((writes) => this.writeProgress(writes), { keyOf: (write) => write.run.id });
	}

	/** `markRunning`, batched. */
	markRunning(id: string): Promise<OperationRow> {
		return this.starts.submit(id);
	}

	/** `reportProgress`, batched. */
	reportProgress(run: OperationRun, progress?: number, merge?: Record<string, unknown>): Promise<void> {
		return this.progress.submit({ run, progress, merge });
	}

	/**
	 * Marks the run succeeded with `merge` recorded, after the saga's `onSucceededMany` in the same
	 * transaction. Rejects as `onSucceeded` and `succeed` would: with the saga's refusal, or with
	 * the reason the run no longer owns the operation.
	 */
	succeed(
		saga: AnySaga,
		ctx: SagaContext<unknown, Record<string, unknown>>,
		run: OperationRun,
		merge: Record<string, unknown>,
	): Promise<void> {
		let coalescer = this.successes.get(saga);
		if (!coalescer) {
			coalescer = new Coalescer((writes) => this.settle(saga, writes), { keyOf: (write) => write.run.id });
			this.successes.set(saga, coalescer);
		}
		return coalescer.submit({ ctx, run, merge });
	}

	/** Batches sent and runs carried, by kind of write: for tests. */
	stats(): Record<string, { batches: number; items: number }> {
		const stats: Record<string, { batches: number; items: number }> = {
			start: this.starts.stats,
			progress: this.progress.stats,
		};
		for (const [saga, coalescer] of this.successes) stats[`succeed ${saga.name}`] = coalescer.stats;
		return stats;
	}

	private async start(ids: string[]): Promise<ItemOutcome<OperationRow>[]> {
		const rows = await this.db
			.update(operations)
			.set(START_RUN)
			.where(
				and(sql`${operations.id} = any(${sql.param(ids)}::uuid[])`, inArray(operations.status, [...OPEN_STATUSES])),
			)
			.returning();
		const byId = new Map(rows.map((row) => [row.id, row]));
		return Promise.all(
			ids.map(async (id) => {
				const row = byId.get(id);
				return row ? succeeded(row) : failedWith<OperationRow>(await explainRefusedStart(this.db, id));
			}),
		);
	}

	private async writeProgress(writes: ProgressWrite[]): Promise<ItemOutcome<void>[]> {
		const result = (await this.db.execute(sql`
			update ${operations} o set
				progress = coalesce(v.progress, o.progress),
				state = case when v.merge is null then o.state else o.state || v.merge end,
				updated_at = now()
			from unnest(
				${sql.param(writes.map((write) => write.run.id))}::uuid[],
				${sql.param(writes.map((write) => write.run.fence))}::bigint[],
				${sql.param(writes.map((write) => (write.progress === undefined ? null : clampProgress(write.progress))))}::int[],
				${sql.param(writes.map((write) => (write.merge ? JSON.stringify(write.merge) : null)))}::jsonb[]
			) as v(id, fence, progress, merge)
			where o.id = v.id and o.fence = v.fence and o.status = 'running'
			returning o.id`)) as unknown as Rows<{ id: string }>;
		const written = new Set(result.rows.map((row) => row.id));
		return Promise.all(
			writes.map(async ({ run }) =>
				written.has(run.id)
					? succeeded(undefined)
					: failedWith<void>(await explainRefusedWrite(this.db, run, "running")),
			),
		);
	}

	private async settle(saga: AnySaga, writes: SuccessWrite[]): Promise<ItemOutcome<void>[]> {
		const refusals = new Map<string, Error>();
		const lost = new Set<string>();
		let pending = writes;
		// The saga's writes come first and the operations' after, the order of the one-run
		// transaction and of every API transaction that locks an instance and then its operations
		// (a delete cancelling a create), so the two can never wait on each other in a cycle. A run
		// found superseded at the end rolls the batch back and it goes again without it: rare (a
		// cancel racing the success), and its instance must not move on its behalf.
		for (let round = 1; pending.length > 0; round++) {
			// Each round drops at least one run whose fence moved on, which cannot move back.
			if (round > writes.length + 1) throw new Error("batched success kept losing its runs");
			const refused = await this.db
				.transaction(async (tx) => {
					const refusedNow = await this.settleOnce(saga, pending, tx);
					const candidates = pending.filter((write) => !refusedNow.has(write.run.id));
					const owned = await this.markSucceeded(tx, candidates);
					if (candidates.some((write) => !owned.has(write.run.id))) tx.rollback();
					return refusedNow;
				})
				.catch((error: unknown) => {
					if (error instanceof TransactionRollbackError) return undefined;
					throw error;
				});
			if (refused) {
				for (const [id, error] of refused) refusals.set(id, error);
				break;
			}
			// Rolled back: find which runs lost their operation, and go again without them.
			const owners = await this.stillOwned(pending);
			for (const write of pending) if (!owners.has(write.run.id)) lost.add(write.run.id);
			pending = pending.filter((write) => owners.has(write.run.id));
		}
		return Promise.all(
			writes.map(async (write) => {
				const refusal = refusals.get(write.run.id);
				if (refusal) return failedWith<void>(refusal);
				if (!lost.has(write.run.id)) return succeeded(undefined);
				return failedWith<void>(await explainRefusedWrite(this.db, write.run, "succeeded"));
			}),
		);
	}

	private async settleOnce(saga: AnySaga, writes: SuccessWrite[], tx: Tx): Promise<Map<string, Error>> {
		const settleMany = saga.onSucceededMany;
		if (!settleMany) throw new Error(`saga ${saga.name} cannot settle successes in batches`);
		return settleMany(
			writes.map((write) => write.ctx),
			tx,
		);
	}

	/** The conditional success of every run still owning its operation; answers their ids. */
	private async markSucceeded(tx: Tx, writes: SuccessWrite[]): Promise<Set<string>> {
		if (writes.length === 0) return new Set();
		const result = (await tx.execute(sql`
			update ${operations} o set
				status = 'succeeded', progress = 100, error = null, completed_at = now(), updated_at = now(),
				state = o.state || v.merge
			from unnest(
				${sql.param(writes.map((write) => write.run.id))}::uuid[],
				${sql.param(writes.map((write) => write.run.fence))}::bigint[],
				${sql.param(writes.map((write) => JSON.stringify(write.merge)))}::jsonb[]
			) as v(id, fence, merge)
			where o.id = v.id and o.fence = v.fence and o.status = 'running'
			returning o.id`)) as unknown as Rows<{ id: string }>;
		return new Set(result.rows.map((row) => row.id));
	}

	/** The runs whose operation is still running under their fence. */
	private async stillOwned(writes: SuccessWrite[]): Promise<Set<string>> {
		const result = (await this.db.execute(sql`
			select o.id from ${operations} o
			join unnest(
				${sql.param(writes.map((write) => write.run.id))}::uuid[],
				${sql.param(writes.map((write) => write.run.fence))}::bigint[]
			) as v(id, fence) on o.id = v.id and o.fence = v.fence
			where o.status = 'running'`)) as unknown as Rows<{ id: string }>;
		return new Set(result.rows.map((row) => row.id));
	}
}
