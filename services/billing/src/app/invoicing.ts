import type { Db } from "@igoudar/db";
import { loadEnergyHours, loadFootprint } from "../db/energy";
import {
	billedQuantities,
	insertInvoiceIfAbsent,
	insertInvoiceLines,
	invoiceExists,
	invoicesOfTenantBetween,
	lockTenantInvoicing,
} from "../db/invoices";
import { findPricePlan } from "../db/price-plans";
import { loadLifetimes } from "../db/usage";
import { lineAmountMicros } from "../domain/currencies";
import { informationLines, isEmptyFootprint } from "../domain/footprint";
import { addMonths, microsOf } from "../domain/instants";
import { METER_DEFINITIONS, type Meter } from "../domain/metering";
import { invoiceTotals, type RatedLine, type RateVersion, rateUsage, versionAt } from "../domain/rating";
import type { BillingSettings } from "../settings";
import { rateVersionOf, resolveTenantPlan } from "./price-plans";

/** How far back an invoice looks for earlier months whose usage changed after they were invoiced. */
export const ADJUSTMENT_LOOKBACK_MONTHS = 12;

export interface Period {
	start: Date;
	end: Date;
}

export type InvoiceOutcome = "made" | "exists" | "nothing_to_bill" | "no_plan";

interface DraftLine extends RatedLine {
	kind: "usage" | "adjustment";
	usagePeriodStart: Date;
}

const lineKey = (meter: string, versionId: string) => `${meter}/${versionId}`;

/**
 * Lines for usage that reached earlier invoiced months after their invoice was made (an event
 * committed late, a month invoiced before it closed): per month, meter and rate version, the
 * usage as rated now minus everything billed for it so far, at that version's rate. Months
 * invoiced in another currency are left alone: an invoice has one currency.
 */
async function adjustmentLines(db: Db, tenantId: string, periodStart: Date, currency: string): Promise<DraftLine[]> {
	const since = addMonths(periodStart, -ADJUSTMENT_LOOKBACK_MONTHS);
	const earlier = await invoicesOfTenantBetween(db, tenantId, since, periodStart);
	if (earlier.length === 0) return [];
	const billed = new Map<string, bigint>();
	for (const row of await billedQuantities(db, tenantId, since, periodStart)) {
		const key = `${row.usagePeriodStart.toISOString()}/${lineKey(row.meter, row.priceVersionId)}`;
		billed.set(key, BigInt(row.quantityNanos));
	}
	const lines: DraftLine[] = [];
	for (const invoice of earlier) {
		if (invoice.currency !== currency) continue;
		const plan = await findPricePlan(db, invoice.pricePlanId);
		if (!plan) continue;
		const versions = plan.versions.map(rateVersionOf);
		const from = microsOf(invoice.periodStart);
		const to = microsOf(invoice.periodEnd);
		const now = rateUsage(
			await loadLifetimes(db, tenantId, from, to),
			await loadEnergyHours(db, tenantId, from, to),
			versions,
			from,
			to,
			currency,
		);
		const month = invoice.periodStart.toISOString();
		const quantities = new Map<string, { meter: Meter; version: RateVersion; quantity: bigint }>();
		for (const line of now) {
			const version = versions.find((v) => v.id === line.versionId) as RateVersion;
			quantities.set(lineKey(line.meter, line.versionId), { meter: line.meter, version, quantity: line.quantityNanos });
		}
		for (const key of billed.keys()) {
			if (!key.startsWith(`${month}/`)) continue;
			const [meter, versionId] = key.slice(month.length + 1).split("/") as [Meter, string];
			const version = versions.find((v) => v.id === versionId);
			if (!version || quantities.has(lineKey(meter, versionId))) continue;
			quantities.set(lineKey(meter, versionId), { meter, version, quantity: 0n });
		}
		for (const [key, { meter, version, quantity }] of quantities) {
			const delta = quantity - (billed.get(`${month}/${key}`) ?? 0n);
			if (delta === 0n) continue;
			const unitPriceMicros = version.rates[meter];
			lines.push({
				kind: "adjustment",
				usagePeriodStart: invoice.periodStart,
				meter,
				versionId: version.id,
				quantityNanos: delta,
				unitPriceMicros,
				amountMicros: lineAmountMicros(delta, unitPriceMicros, currency),
			});
		}
	}
	return lines;
}

/**
 * Makes the tenant's invoice for one calendar month, unless it exists: in one transaction under
 * the tenant's invoicing lock, the month's usage rated per meter and rate version, the
 * adjustments to earlier months, the month's energy and carbon as information lines, the totals,
 * and the insert that the unique (tenant, month) key makes happen once however many runs get
 * here. A tenant with nothing to bill and no energy gets no invoice.
 */
export async function makeTenantInvoice(
	db: Db,
	settings: BillingSettings,
	tenantId: string,
	period: Period,
	runId: string | null,
): Promise<InvoiceOutcome> {
	return db.transaction(async (transaction) => {
		const tx = transaction as unknown as Db;
		await lockTenantInvoicing(tx, tenantId);
		if (await invoiceExists(tx, tenantId, period.start)) return "exists";
		const { plan } = await resolveTenantPlan(tx, settings, tenantId);
		if (!plan) return "no_plan";
		const versions = plan.versions.map(rateVersionOf);
		const from = microsOf(period.start);
		const to = microsOf(period.end);
		const usage: DraftLine[] = rateUsage(
			await loadLifetimes(tx, tenantId, from, to),
			await loadEnergyHours(tx, tenantId, from, to),
			versions,
			from,
			to,
			plan.currency,
		).map((line) => ({ ...line, kind: "usage", usagePeriodStart: period.start }));
		const lines = [...usage, ...(await adjustmentLines(tx, tenantId, period.start, plan.currency))];
		const footprint = await loadFootprint(tx, tenantId, from, to);
		if (lines.length === 0 && isEmptyFootprint(footprint)) return "nothing_to_bill";
		// The tax rate in effect on the last instant of the month; information lines name that version.
		const closing = versionAt(versions, to - 1n);
		if (!closing) throw new Error(`price plan ${plan.id} has no version`);
		const taxRatePpm = closing.taxRatePpm;
		const totals = invoiceTotals(
			lines.map((line) => line.amountMicros),
			taxRatePpm,
			plan.currency,
		);
		const invoice = await insertInvoiceIfAbsent(tx, {
			tenantId,
			periodStart: period.start,
			periodEnd: period.end,
			pricePlanId: plan.id,
			currency: plan.currency,
			subtotalMicros: totals.subtotalMicros,
			taxRatePpm,
			taxMicros: totals.taxMicros,
			totalMicros: totals.totalMicros,
			runId,
		});
		if (!invoice) return "exists";
		const information = informationLines(footprint).map((line) => ({
			...line,
			kind: "information" as const,
			usagePeriodStart: period.start,
			priceVersionId: closing.id,
			unitPriceMicros: 0n,
			amountMicros: 0n,
		}));
		await insertInvoiceLines(tx, [
			...lines.map((line, position) => ({
				invoiceId: invoice.id,
				position,
				kind: line.kind,
				meter: line.meter,
				usagePeriodStart: line.usagePeriodStart,
				priceVersionId: line.versionId,
				quantityNanos: line.quantityNanos,
				unit: METER_DEFINITIONS[line.meter].unit,
				unitPriceMicros: line.unitPriceMicros,
				amountMicros: line.amountMicros,
			})),
			...information.map((line, index) => ({ ...line, invoiceId: invoice.id, position: lines.length + index })),
		]);
		return "made";
	});
}
