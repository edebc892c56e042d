/**
 * Group commit for many concurrent callers of one statement: each caller submits an item and gets
 * its own result, while the items that arrive together go to the database as one set-based
 * statement or transaction. The first item is sent at once (after the current tick, so the items
 * submitted in the same tick go with it); while a batch is in flight, what arrives waits for it and
 * goes in the next one. So an idle system adds no latency, and under load the batch grows to match
 * the load instead of a timer's guess (the way Postgres' own group commit behaves).
 *
 * Why not DataLoader: it batches per tick but never waits for the batch in flight, so under load
 * it keeps many small batches in flight at once, which is what this is meant to avoid.
 */

/** One item's outcome: its result, or the error only that item failed with. */
export type ItemOutcome<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export interface CoalescerOptions<In> {
	/** Most items in one batch. */
	maxBatch?: number;
	/**
	 * Items with the same key never share a batch (a statement that touches one row twice would
	 * fail or lose a write): a second one waits for the next batch.
	 */
	keyOf?: (item: In) => string;
}

interface Pending<In, Out> {
	item: In;
	resolve(value: Out): void;
	reject(error: unknown): void;
}

export class Coalescer<In, Out> {
	private queue: Pending<In, Out>[] = [];
	private inFlight = false;
	private scheduled = false;
	private readonly maxBatch: number;
	/** Batches sent and items carried, for tests and benchmarks. */
	readonly stats = { batches: 0, items: 0 };

	/**
	 * `flush` answers one outcome per item, in order; if it throws, every item of the batch fails
	 * with that error.
	 */
	constructor(
		private readonly flush: (items: In[]) => Promise<ItemOutcome<Out>[]>,
		private readonly options: CoalescerOptions<In> = {},
	) {
		this.maxBatch = options.maxBatch ?? 256;
	}

	submit(item: In): Promise<Out> {
		return new Promise<Out>((resolve, reject) => {
			this.queue.push({ item, resolve, reject });
			this.schedule();
		});
	}

	private schedule(): void {
		if (this.inFlight || this.scheduled) return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			void this.sendNext();
		});
	}

	private take(): Pending<In, Out>[] {
		const keyOf = this.options.keyOf;
		if (!keyOf) return this.queue.splice(0, this.maxBatch);
		const batch: Pending<In, Out>[] = [];
		const rest: Pending<In, Out>[] = [];
		const keys = new Set<string>();
		for (const pending of this.queue) {
			const key = keyOf(pending.item);
			if (batch.length >= this.maxBatch || keys.has(key)) {
				rest.push(pending);
				continue;
			}
			keys.add(key);
			batch.push(pending);
		}
		this.queue = rest;
		return batch;
	}

	private async sendNext(): Promise<void> {
		const batch = this.take();
		if (batch.length === 0) return;
		this.inFlight = true;
		this.stats.batches += 1;
		this.stats.items += batch.length;
		try {
			const outcomes = await this.flush(batch.map((pending) => pending.item));
			for (const [index, pending] of batch.entries()) {
				const outcome = outcomes[index];
				if (!outcome) pending.reject(new Error("the batch answered fewer outcomes than it was given items"));
				else if (outcome.ok) pending.resolve(outcome.value);
				else pending.reject(outcome.error);
			}
		} catch (error) {
			for (const pending of batch) pending.reject(error);
		} finally {
			this.inFlight = false;
			if (this.queue.length > 0) this.schedule();
		}
	}
}

export const succeeded = <Out>(value: Out): ItemOutcome<Out> => ({ ok: true, value });
export const failedWith = <Out>(error: unknown): ItemOutcome<Out> => ({ ok: false, error });
