import type { Db } from "@igoudar/db";
import { type Ctx, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import {
	draftsMadeBefore,
	findInvoice,
	type InvoiceFilter,
	type InvoiceRecord,
	listInvoices,
	lockInvoice,
	markFinalized,
	recordSystemAudit,
	takeInvoiceNumber,
} from "../db/invoices";
import { formatMoney, MONEY_SCALE } from "../domain/currencies";
import { formatDecimal } from "../domain/decimal";
import type { InformationMeter } from "../domain/footprint";
import { type Meter, QUANTITY_SCALE } from "../domain/metering";

export interface InvoiceLineView {
	/** `information`: energy and carbon of the month, priced at zero. */
	kind: "usage" | "adjustment" | "information";
	meter: Meter | InformationMeter;
	/** The month the quantity belongs to: the invoice's own, or an earlier one for an adjustment. */
	usage_period_start: string;
	rate_version_id: string;
	quantity: string;
	unit: string;
	unit_price: string;
	amount: string;
}

export interface InvoiceView {
	id: string;
	tenant_id: string;
	number: string | null;
	period_start: string;
	period_end: string;
	currency: string;
	status: "draft" | "finalized";
	price_plan_id: string;
	lines: InvoiceLineView[];
	subtotal: string;
	tax_rate: string;
	tax: string;
	total: string;
	created_at: string;
	finalized_at: string | null;
}

export function presentInvoice(row: InvoiceRecord): InvoiceView {
	const money = (micros: bigint) => formatMoney(micros, row.currency);
	return {
		id: row.id,
		tenant_id: row.tenantId,
		number: row.number,
		period_start: row.periodStart.toISOString(),
		period_end: row.periodEnd.toISOString(),
		currency: row.currency,
		status: row.status,
		price_plan_id: row.pricePlanId,
		lines: row.lines.map((line) => ({
			kind: line.kind,
			// Written only from METERS and INFORMATION_METERS by invoicing.
			meter: line.meter as Meter | InformationMeter,
			usage_period_start: line.usagePeriodStart.toISOString(),
			rate_version_id: line.priceVersionId,
			quantity: formatDecimal(line.quantityNanos, QUANTITY_SCALE),
			unit: line.unit,
			unit_price: formatDecimal(line.unitPriceMicros, MONEY_SCALE),
			amount: money(line.amountMicros),
		})),
		subtotal: money(row.subtotalMicros),
		tax_rate: formatDecimal(BigInt(row.taxRatePpm), 6),
		tax: money(row.taxMicros),
		total: money(row.totalMicros),
		created_at: row.createdAt.toISOString(),
		finalized_at: row.finalizedAt?.toISOString() ?? null,
	};
}

const CSV_COLUMNS = [
	"kind",
	"meter",
	"usage_period_start",
	"rate_version_id",
	"quantity",
	"unit",
	"unit_price",
	"amount",
] as const;

/** Quotes a field when it must (RFC 4180); a leading formula character is defused for spreadsheets. */
function csvField(value: string): string {
	const safe = /^[=+\-@\t\r]/.test(value) && !/^-\d/.test(value) ? `'${value}` : value;
	return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** The invoice's lines as CSV (RFC 4180, CRLF), one header row, amounts as on the JSON invoice. */
export function invoiceCsv(view: InvoiceView): string {
	const rows = [CSV_COLUMNS.join(",")];
	for (const line of view.lines) rows.push(CSV_COLUMNS.map((column) => csvField(line[column])).join(","));
	return `${rows.join("\r\n")}\r\n`;
}

export async function invoiceList(ctx: Ctx, page: PageRequest, filter: InvoiceFilter) {
	return toPage(await listInvoices(ctx.db, page, filter), page, presentInvoice);
}

export async function invoiceGet(ctx: Ctx, tenantId: string, id: string): Promise<InvoiceView> {
	const row = await findInvoice(ctx.db, tenantId, id);
	if (!row) throw problems.notFound("invoice");
	return presentInvoice(row);
}

/** `IGD-2026-000042`: the year of finalization and its sequence number. */
export const invoiceNumber = (year: number, sequence: number) => `IGD-${year}-${String(sequence).padStart(6, "0")}`;

/**
 * Finalizes a draft in the caller's transaction: the invoice row is locked first, then the year's
 * counter (every finalize takes them in that order), so a number is given out only with a
 * finalization that commits. Answers 409 for an invoice already final: it never changes.
 */
async function finalizeIn(
	tx: Db,
	tenantId: string,
	id: string,
	audit: (tx: Db, number: string) => Promise<void>,
): Promise<void> {
	const invoice = await lockInvoice(tx, tenantId, id);
	if (!invoice) throw problems.notFound("invoice");
	if (invoice.status === "finalized") {
		throw problems.conflict(`Invoice ${invoice.number} is finalized; a finalized invoice never changes.`);
	}
	const now = new Date();
	const year = now.getUTCFullYear();
	const number = invoiceNumber(year, await takeInvoiceNumber(tx, year));
	await markFinalized(tx, id, number, now);
	await audit(tx, number);
}

export async function invoiceFinalize(ctx: Ctx, tenantId: string, id: string): Promise<InvoiceView> {
	return ctx.db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		await finalizeIn(tx, tenantId, id, (db, number) =>
			recordAudit(withDb(ctx, db), {
				tenantId,
				action: "invoice.finalize",
				targetType: "invoice",
				targetId: id,
				detail: { number },
			}),
		);
		const row = await findInvoice(tx, tenantId, id);
		if (!row) throw problems.internal();
		return presentInvoice(row);
	});
}

/**
 * Finalizes the drafts whose grace period is over, each in its own transaction (the workers call
 * this on their interval; several workers at once only queue on the invoice locks). Returns how
 * many it finalized.
 */
export async function finalizeDueInvoices(db: Db, graceHours: number, now = new Date()): Promise<number> {
	const due = await draftsMadeBefore(db, new Date(now.getTime() - graceHours * 3_600_000), 100);
	let finalized = 0;
	for (const draft of due) {
		try {
			await db.transaction(async (transaction) => {
				const tx = transaction as unknown as Db;
				await finalizeIn(tx, draft.tenantId, draft.id, (audited, number) =>
					recordSystemAudit(audited, {
						tenantId: draft.tenantId,
						action: "invoice.finalize",
						targetType: "invoice",
						targetId: draft.id,
						detail: { number, reason: "grace_period_over" },
					}),
				);
			});
			finalized++;
		} catch (error) {
			// An operator finalized it in the meantime: nothing left to do.
			if (!(error instanceof Error && "code" in error && error.code === "conflict")) throw error;
		}
	}
	return finalized;
}
