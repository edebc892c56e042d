import type { Db } from "@igoudar/db";
import { defineSaga, enqueueOperation, type OperationView, presentOperation, type Saga } from "@igoudar/jobs";
import { type Ctx, idempotentResult, problems, recordAudit, withDb } from "@igoudar/kit";
import {
	countInvoicesOfRun,
	findInvoiceRun,
	findRunOperation,
	type InvoiceRunRow,
	insertInvoiceRun,
	insertScheduledRunIfAbsent,
} from "../db/invoice-runs";
import { tenantsToInvoice } from "../db/usage";
import type { BillingDeps } from "../deps";
import { addMonths, isMonthStart, microsOf, monthStartOf, monthsBetween } from "../domain/instants";
import { billingJobs } from "../jobs";
import type { BillingSettings } from "../settings";
import { makeTenantInvoice } from "./invoicing";

/** The most months one run may cover. */
export const MAX_RUN_MONTHS = 24;
/** Tenants invoiced between two heartbeats of the run. */
const TENANT_BATCH = 50;

export interface InvoiceRunView {
	id: string;
	period_start: string;
	period_end: string;
	scheduled: boolean;
	/** Invoices this run made (others of the same months may have been made by other runs). */
	invoices_made: number;
	operation: OperationView | null;
	created_at: string;
}

async function presentRun(db: Db, run: InvoiceRunRow): Promise<InvoiceRunView> {
	const operation = await findRunOperation(db, run.id);
	return {
		id: run.id,
		period_start: run.periodStart.toISOString(),
		period_end: run.periodEnd.toISOString(),
		scheduled: run.scheduled,
		invoices_made: await countInvoicesOfRun(db, run.id),
		operation: operation ? presentOperation(operation) : null,
		created_at: run.createdAt.toISOString(),
	};
}

async function enqueueRun(db: Db, run: InvoiceRunRow) {
	return enqueueOperation(db as Parameters<typeof enqueueOperation>[0], {
		tenantId: null,
		kind: "invoice.run",
		targetType: "invoice_run",
		targetId: run.id,
		job: billingJobs["invoice.run"],
		payload: { invoice_run_id: run.id },
	});
}

function checkPeriod(start: Date, end: Date, now: Date): void {
	const invalid = (field: string, message: string) =>
		problems.validation(message, [{ field: `body/${field}`, message: "invalid period" }]);
	if (!isMonthStart(start)) throw invalid("period_start", "period_start must be the first instant of a month (UTC).");
	if (!isMonthStart(end)) throw invalid("period_end", "period_end must be the first instant of a month (UTC).");
	if (end <= start) throw invalid("period_end", "period_end must be after period_start.");
	if (end > monthStartOf(now)) throw invalid("period_end", "Only months that have ended can be invoiced.");
	if (end > addMonths(start, MAX_RUN_MONTHS)) {
		throw invalid("period_end", `A run covers at most ${MAX_RUN_MONTHS} months.`);
	}
}

/**
 * Asks the workers to make every tenant's invoice for each calendar month of [start, end): the
 * run, its operation and the outbox row in one transaction, then 202. Running a month again is
 * safe: a tenant's invoice for a month is made once, whichever run gets there first.
 */
export async function invoiceRunCreate(
	ctx: Ctx,
	deps: BillingDeps,
	input: { period_start: string; period_end: string },
): Promise<{ run: InvoiceRunView; operation: OperationView }> {
	const start = new Date(input.period_start);
	const end = new Date(input.period_end);
	checkPeriod(start, end, new Date());
	const accepted = await ctx.db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const run = await insertInvoiceRun(tx, { periodStart: start, periodEnd: end });
		const operation = await enqueueRun(tx, run);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "invoice.run",
			targetType: "invoice_run",
			targetId: run.id,
			detail: { ...input },
		});
		return idempotentResult(withDb(ctx, tx), 202, {
			run: await presentRun(tx, run),
			operation: presentOperation(operation),
		});
	});
	deps.afterCommit();
	return accepted;
}

export async function invoiceRunGet(ctx: Ctx, id: string): Promise<InvoiceRunView> {
	const run = await findInvoiceRun(ctx.db, id);
	if (!run) throw problems.notFound("invoice run");
	return presentRun(ctx.db, run);
}

/**
 * The schedule: once a month has ended, its run is made (once across every worker, by the unique
 * key on scheduled runs) and queued through the outbox like any operation. Returns the run's id
 * when this call made it.
 */
export async function scheduleEndedMonth(db: Db, now = new Date()): Promise<string | undefined> {
	const end = monthStartOf(now);
	const start = addMonths(end, -1);
	return db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		const run = await insertScheduledRunIfAbsent(tx, start, end);
		if (!run) return undefined;
		await enqueueRun(tx, run);
		return run.id;
	});
}

interface RunData extends Record<string, unknown> {
	made: number;
}

/**
 * invoice.run: one step that invoices every tenant for each month of the run, in order (a month's
 * adjustments see the month before it), each tenant in its own transaction. The step can be cut
 * off anywhere and run again: a tenant already invoiced for a month is skipped by the unique key,
 * so a re-driven run completes what is missing and repeats nothing.
 */
export function invoiceRunSaga(settings: BillingSettings): Saga<{ invoice_run_id: string }, RunData> {
	return defineSaga({
		name: "invoice.run",
		steps: [
			{
				name: "make_invoices",
				async do(ctx) {
					const run = await findInvoiceRun(ctx.db, ctx.payload.invoice_run_id);
					if (!run) return { made: 0 };
					let made = 0;
					for (const month of monthsBetween(run.periodStart, run.periodEnd)) {
						let after: string | undefined;
						for (;;) {
							const tenants = await tenantsToInvoice(ctx.db, month.start, microsOf(month.end), after, TENANT_BATCH);
							for (const tenantId of tenants) {
								if ((await makeTenantInvoice(ctx.db, settings, tenantId, month, run.id)) === "made") made++;
							}
							await ctx.heartbeat();
							if (tenants.length < TENANT_BATCH) break;
							after = tenants[tenants.length - 1];
						}
					}
					ctx.logger.info({ runId: run.id, made }, "invoice run finished");
					return { made };
				},
				// Invoices are never taken back: a run that fails leaves what it made, and running the
				// months again makes the rest.
				async undo() {},
			},
		],
	});
}
