import type { Db } from "@igoudar/db";
import { auditEvents, invoiceLines, invoiceNumberCounters, invoices } from "@igoudar/db";
import { and, asc, desc, eq, gt, gte, inArray, lt, ne, sql } from "drizzle-orm";
import { ppmValue } from "./price-plans";

export type InvoiceRow = typeof invoices.$inferSelect;
export type InvoiceLineRow = typeof invoiceLines.$inferSelect;
export type InvoiceStatus = InvoiceRow["status"];

export interface InvoiceRecord extends InvoiceRow {
	lines: InvoiceLineRow[];
}

/**
 * Inserts the invoice unless the tenant already has one for the period (the unique key decides,
 * also against a run inserting in parallel, which this waits for). Undefined when it existed.
 */
export async function insertInvoiceIfAbsent(
	db: Db,
	values: Omit<typeof invoices.$inferInsert, "taxRatePpm"> & { taxRatePpm: bigint },
): Promise<InvoiceRow | undefined> {
	const [row] = await db
		.insert(invoices)
		.values({ ...values, taxRatePpm: ppmValue(values.taxRatePpm) })
		.onConflictDoNothing({ target: [invoices.tenantId, invoices.periodStart] })
		.returning();
	return row;
}

export async function insertInvoiceLines(db: Db, lines: (typeof invoiceLines.$inferInsert)[]): Promise<void> {
	if (lines.length > 0) await db.insert(invoiceLines).values(lines);
}

async function withLines(db: Db, rows: InvoiceRow[]): Promise<InvoiceRecord[]> {
	if (rows.length === 0) return [];
	const lines = await db
		.select()
		.from(invoiceLines)
		.where(
			inArray(
				invoiceLines.invoiceId,
				rows.map((row) => row.id),
			),
		)
		.orderBy(asc(invoiceLines.invoiceId), asc(invoiceLines.position));
	return rows.map((row) => ({ ...row, lines: lines.filter((line) => line.invoiceId === row.id) }));
}

export async function findInvoice(db: Db, tenantId: string, id: string): Promise<InvoiceRecord | undefined> {
	const [row] = await db
		.select()
		.from(invoices)
		.where(and(eq(invoices.id, id), eq(invoices.tenantId, tenantId)))
		.limit(1);
	return row ? (await withLines(db, [row]))[0] : undefined;
}

export interface InvoiceFilter {
	tenantId?: string;
	status?: InvoiceStatus;
	periodStart?: Date;
}

export async function listInvoices(
	db: Db,
	page: { limit: number; after?: string },
	filter: InvoiceFilter,
): Promise<InvoiceRecord[]> {
	const rows = await db
		.select()
		.from(invoices)
		.where(
			and(
				page.after ? gt(invoices.id, page.after) : undefined,
				filter.tenantId ? eq(invoices.tenantId, filter.tenantId) : undefined,
				filter.status ? eq(invoices.status, filter.status) : undefined,
				filter.periodStart ? eq(invoices.periodStart, filter.periodStart) : undefined,
			),
		)
		.orderBy(asc(invoices.id))
		.limit(page.limit + 1);
	return withLines(db, rows);
}

/** The tenant's invoices for periods starting in [from, before), oldest first. */
export async function invoicesOfTenantBetween(db: Db, tenantId: string, from: Date, before: Date) {
	return db
		.select()
		.from(invoices)
		.where(and(eq(invoices.tenantId, tenantId), gte(invoices.periodStart, from), lt(invoices.periodStart, before)))
		.orderBy(asc(invoices.periodStart));
}

/**
 * What has been billed so far for each (month, meter, rate version) of a tenant, across every
 * invoice: the month's own lines and the adjustments later invoices made to it (information
 * lines bill nothing).
 */
export async function billedQuantities(db: Db, tenantId: string, from: Date, before: Date) {
	return db
		.select({
			usagePeriodStart: invoiceLines.usagePeriodStart,
			meter: invoiceLines.meter,
			priceVersionId: invoiceLines.priceVersionId,
			quantityNanos: sql<string>`sum(${invoiceLines.quantityNanos})::text`,
		})
		.from(invoiceLines)
		.innerJoin(invoices, eq(invoices.id, invoiceLines.invoiceId))
		.where(
			and(
				eq(invoices.tenantId, tenantId),
				ne(invoiceLines.kind, "information"),
				gte(invoiceLines.usagePeriodStart, from),
				lt(invoiceLines.usagePeriodStart, before),
			),
		)
		.groupBy(invoiceLines.usagePeriodStart, invoiceLines.meter, invoiceLines.priceVersionId);
}

/** Locks the invoice for the rest of the transaction (finalizing). */
export async function lockInvoice(db: Db, tenantId: string, id: string): Promise<InvoiceRow | undefined> {
	const [row] = await db
		.select()
		.from(invoices)
		.where(and(eq(invoices.id, id), eq(invoices.tenantId, tenantId)))
		.for("update");
	return row;
}

/**
 * The next number of the year. The upsert leaves the counter row locked until the transaction
 * ends, so finalizes queue on it and one that rolls back gives its number back: no gaps.
 */
export async function takeInvoiceNumber(db: Db, year: number): Promise<number> {
	const [row] = await db
		.insert(invoiceNumberCounters)
		.values({ year, lastNumber: 1 })
		.onConflictDoUpdate({
			target: invoiceNumberCounters.year,
			set: { lastNumber: sql`${invoiceNumberCounters.lastNumber} + 1`, updatedAt: sql`now()` },
		})
		.returning({ lastNumber: invoiceNumberCounters.lastNumber });
	if (!row) throw new Error("the invoice counter upsert returned no row");
	return row.lastNumber;
}

export async function markFinalized(db: Db, id: string, number: string, at: Date): Promise<void> {
	await db
		.update(invoices)
		.set({ status: "finalized", number, finalizedAt: at })
		.where(and(eq(invoices.id, id), eq(invoices.status, "draft")));
}

/** Drafts made before `madeBefore`, oldest first: those whose grace period is over. */
export async function draftsMadeBefore(db: Db, madeBefore: Date, limit: number) {
	return db
		.select({ id: invoices.id, tenantId: invoices.tenantId })
		.from(invoices)
		.where(and(eq(invoices.status, "draft"), lt(invoices.createdAt, madeBefore)))
		.orderBy(asc(invoices.createdAt))
		.limit(limit);
}

/** The last period a plan has been invoiced for: a new rate may not reach back into it. */
export async function latestInvoicedPeriodEnd(db: Db, pricePlanId: string): Promise<Date | undefined> {
	const [row] = await db
		.select({ periodEnd: invoices.periodEnd })
		.from(invoices)
		.where(eq(invoices.pricePlanId, pricePlanId))
		.orderBy(desc(invoices.periodEnd))
		.limit(1);
	return row?.periodEnd;
}

/**
 * Serialises the making of one tenant's invoices: the adjustments an invoice carries are what was
 * billed for earlier months subtracted from their usage, which two invoices made at once would
 * both count. Held until the transaction ends.
 */
export async function lockTenantInvoicing(db: Db, tenantId: string): Promise<void> {
	await db.execute(sql`select pg_advisory_xact_lock(727101, hashtext(${tenantId}))`);
}

export async function invoiceExists(db: Db, tenantId: string, periodStart: Date): Promise<boolean> {
	const [row] = await db
		.select({ id: invoices.id })
		.from(invoices)
		.where(and(eq(invoices.tenantId, tenantId), eq(invoices.periodStart, periodStart)))
		.limit(1);
	return row !== undefined;
}

/** Audit events of what the platform does by itself (the workers' finalization after the grace period). */
export async function recordSystemAudit(
	db: Db,
	entry: { tenantId: string; action: string; targetType: string; targetId: string; detail?: Record<string, unknown> },
): Promise<void> {
	await db.insert(auditEvents).values({ ...entry, actorId: "system", actorRole: "system" });
}
