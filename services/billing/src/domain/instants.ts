/**
 * Instants as exact microseconds since the Unix epoch (what Postgres records) and the calendar
 * months invoices cover (UTC). The one billing module that converts to and from JavaScript
 * numbers: a Date holds milliseconds as a number. It handles time only, never money.
 */

export const microsOf = (date: Date): bigint => BigInt(date.getTime()) * 1000n;

/** Sub-millisecond digits are dropped: a Date cannot show them. */
export const dateOfMicros = (micros: bigint): Date => new Date(Number(micros / 1000n));

export function monthStartOf(date: Date): Date {
	return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

export function addMonths(monthStart: Date, months: number): Date {
	return new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + months, 1));
}

export function isMonthStart(date: Date): boolean {
	return date.getTime() === monthStartOf(date).getTime();
}

/** The calendar months [start, end) covers; both must be month starts. */
export function monthsBetween(start: Date, end: Date): { start: Date; end: Date }[] {
	const months: { start: Date; end: Date }[] = [];
	for (let month = start; month < end; month = addMonths(month, 1)) {
		months.push({ start: month, end: addMonths(month, 1) });
	}
	return months;
}
