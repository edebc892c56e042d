import type { Db } from "@igoudar/db";
import { invoiceRuns, invoices, operations } from "@igoudar/db";
import { and, count, eq } from "drizzle-orm";

export type InvoiceRunRow = typeof invoiceRuns.$inferSelect;

export async function insertInvoiceRun(db: Db, values: typeof invoiceRuns.$inferInsert): Promise<InvoiceRunRow> {
	const [row] = await db.insert(invoiceRuns).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** The schedule's run of a month, once across all workers; undefined when one was made already. */
export async function insertScheduledRunIfAbsent(
	db: Db,
	periodStart: Date,
	periodEnd: Date,
): Promise<InvoiceRunRow | undefined> {
	const [row] = await db
		.insert(invoiceRuns)
		.values({ periodStart, periodEnd, scheduled: true })
		.onConflictDoNothing()
		.returning();
	return row;
}

export async function findInvoiceRun(db: Db, id: string): Promise<InvoiceRunRow | undefined> {
	const [row] = await db.select().from(invoiceRuns).where(eq(invoiceRuns.id, id)).limit(1);
	return row;
}

/** The operation that carries out a run (its target is the run). */
export async function findRunOperation(db: Db, runId: string) {
	const [row] = await db
		.select()
		.from(operations)
		.where(and(eq(operations.targetId, runId), eq(operations.targetType, "invoice_run")))
		.limit(1);
	return row;
}

/** Invoices a run made (those the run inserted; others of the period were made by other runs). */
export async function countInvoicesOfRun(db: Db, runId: string): Promise<number> {
	const [row] = await db.select({ n: count() }).from(invoices).where(eq(invoices.runId, runId));
	return row?.n ?? 0;
}
