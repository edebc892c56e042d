/**
 * A principal's per-minute budget, spent in this process a slice at a time.
 *
 * Redis keeps one counter per key and window, as before. Instead of one INCR per request, a
 * process reserves a slice of N units with one INCRBY N and hands them out itself: the reply's
 * total R says the slice is units R-N+1..R of the window, and only the units numbered up to the
 * limit are spent. Every unit number is handed out by exactly one process and a slice is never
 * spent past the end of the window it was reserved in, so:
 *
 * - requests accepted in one window, summed over every process, never exceed the limit;
 * - a principal can be refused early while other processes still hold units of their slices: at
 *   most (P - 1) x N requests per window across P processes, where N is the largest slice, one
 *   twentieth of the limit (1 below 40 a minute, which is then exact per request). A slice is
 *   sized to about a quarter of a second of the principal's traffic on this process, so in
 *   practice the unspent units are that much traffic per process, not N.
 *
 * A refused request still reserves (one unit, or its slice), so a principal over its budget
 * costs a Redis round trip per request, as before, and a counter reset in Redis (a new window)
 * is seen by the next request past the slice. Counting while Redis cannot answer is not done
 * here: the caller falls back to counting in its own memory.
 */

/** What one reservation in Redis answered. */
export interface Reservation {
	/** The key's counter after the increment: the last unit reserved. */
	reserved: number;
	/** Milliseconds left in the window, read after the increment. */
	ttl: number;
}

/** Reserves `units` of `key`'s window of `windowMs` in one round trip (an INCRBY and a PTTL). */
export type Reserve = (key: string, units: number, windowMs: number) => Promise<Reservation>;

export interface BudgetCount {
	/** The unit this request spends, its number in the window; above the limit means refused. */
	current: number;
	/** Milliseconds left in the window. */
	ttl: number;
}

/** How much traffic a slice aims to cover: short, so unspent units stay few, long enough to save round trips. */
const SLICE_TARGET_MS = 250;
/** The largest slice, as a share of the limit: it bounds how early other processes can make a principal refused. */
const SLICE_SHARE_OF_LIMIT = 20;

interface Slice {
	/** The next unit to hand out; units run to `last` inclusive. */
	next: number;
	last: number;
	/** When the window this slice belongs to ends (by this process's clock, never later than Redis's). */
	endsAt: number;
	/** How many units the last reservation asked for, and when it was sent: the next size follows the rate. */
	size: number;
	reservedAt: number;
	/** The reservation in flight, shared by every request of this key that finds the slice spent. */
	pending: Promise<Reservation & { granted: number; sentAt: number }> | undefined;
}

export function largestSlice(limit: number): number {
	return Math.max(1, Math.floor(limit / SLICE_SHARE_OF_LIMIT));
}

/**
 * The next slice's size: as many units as the principal used here in the last SLICE_TARGET_MS,
 * judged by how fast the previous slice went, at most double the previous one and at most
 * `largest`. A principal that comes back after a pause starts again from small slices.
 */
export function nextSliceSize(previous: number, elapsedMs: number, largest: number): number {
	const byRate = Math.ceil((previous * SLICE_TARGET_MS) / Math.max(1, elapsedMs));
	return Math.max(1, Math.min(largest, previous * 2, byRate));
}

export class SlicedBudgets {
	private readonly slices = new Map<string, Slice>();

	constructor(
		private readonly reserve: Reserve,
		/** Most keys remembered (the oldest reservation goes first); a forgotten slice is never spent. */
		private readonly maxKeys: number,
	) {}

	/** Spends one unit of `key`'s budget of `limit` a window; reserves a slice in Redis when this process has none left. */
	async take(key: string, limit: number, windowMs: number): Promise<BudgetCount> {
		for (;;) {
			const slice = this.sliceOf(key);
			const now = Date.now();
			if (slice.endsAt <= now) {
				// The window the slice belonged to is over: its units are worthless in the next one.
				slice.next = 1;
				slice.last = 0;
			}
			if (slice.next <= slice.last) {
				const current = slice.next++;
				return { current, ttl: slice.endsAt - now };
			}
			let reservation = slice.pending;
			if (!reservation) {
				reservation = this.reserveSlice(key, slice, limit, windowMs);
				slice.pending = reservation;
				reservation
					.finally(() => {
						if (slice.pending === reservation) slice.pending = undefined;
					})
					.catch(() => undefined);
			}
			const answer = await reservation;
			// Nothing left in this window: every request that waited on this reservation is refused.
			if (answer.granted === 0) {
				return { current: answer.reserved, ttl: Math.max(0, answer.sentAt + answer.ttl - Date.now()) };
			}
			// Units were granted: take one in the next turn (unless the requests ahead took them all).
		}
	}

	private sliceOf(key: string): Slice {
		let slice = this.slices.get(key);
		if (!slice) {
			slice = { next: 1, last: 0, endsAt: 0, size: 0, reservedAt: 0, pending: undefined };
			this.slices.set(key, slice);
			if (this.slices.size > this.maxKeys) {
				const oldest = this.slices.keys().next().value;
				if (oldest !== undefined) this.slices.delete(oldest);
			}
		}
		return slice;
	}

	private async reserveSlice(key: string, slice: Slice, limit: number, windowMs: number) {
		const sentAt = Date.now();
		const size = slice.size === 0 ? 1 : nextSliceSize(slice.size, sentAt - slice.reservedAt, largestSlice(limit));
		const { reserved, ttl } = await this.reserve(key, size, windowMs);
		slice.size = size;
		slice.reservedAt = sentAt;
		// Units above the limit are not spent: a slice that straddles it is granted only its lower part.
		const granted = Math.max(0, Math.min(size, limit - (reserved - size)));
		// The TTL was read after the request was sent, so counting from the send ends the slice no
		// later than Redis ends the window: a unit is never spent in the window after its own.
		slice.endsAt = sentAt + ttl;
		slice.next = reserved - size + 1;
		slice.last = reserved - size + granted;
		// Re-inserted, so the map's order is that of the last reservation: the oldest is evicted first.
		this.slices.delete(key);
		this.slices.set(key, slice);
		return { reserved, ttl, granted, sentAt };
	}
}
