/** Hours of the energy ledger: each is named by its start, on the hour, UTC. */

export const HOUR_MS = 3_600_000;

export function hourStartOf(date: Date): Date {
	return new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
}

export function hourHasEnded(hour: Date, now: Date): boolean {
	return hour.getTime() + HOUR_MS <= now.getTime();
}

/** An hour is final once `finalAfterHours` have passed since it ended: its readings can no longer change. */
export function isFinalByAge(hour: Date, now: Date, finalAfterHours: number): boolean {
	return hour.getTime() + HOUR_MS + finalAfterHours * HOUR_MS <= now.getTime();
}
