import { sql } from "drizzle-orm";
import {
	bigint,
	boolean,
	check,
	index,
	integer,
	pgTable,
	text,
	timestamp,
	uniqueIndex,
	uuid,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";

/**
 * Billing. Money is integer micro-units of the currency (bigint, read as JS bigint so it never
 * passes through a float); quantities are integer nano-units of their meter's unit. Rounding to
 * the currency's minor unit happens once per invoice line and once for the tax.
 */

const money = (name: string) => bigint(name, { mode: "bigint" });
const instant = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/** A named set of rates in one currency; what it charges lives in its versions. */
export const pricePlans = pgTable(
	"price_plans",
	{
		id: idColumn(),
		name: text("name").notNull(),
		/** ISO 4217 code; its minor unit decides the rounding of every amount. */
		currency: text("currency").notNull(),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("price_plans_name_key").on(t.name),
		check("price_plans_currency_check", sql`${t.currency} ~ '^[A-Z]{3}$'`),
	],
);

/**
 * Effective-dated rates of a plan: a version applies from its `effective_at` until the next
 * version's; the earliest version also covers all time before it, so a plan always has a rate.
 * Rates are micro-units of the currency per unit of the meter; the tax rate is in millionths.
 */
export const pricePlanVersions = pgTable(
	"price_plan_versions",
	{
		id: idColumn(),
		pricePlanId: uuid("price_plan_id")
			.notNull()
			.references(() => pricePlans.id),
		effectiveAt: instant("effective_at").notNull(),
		vcpuHourMicros: money("vcpu_hour_micros").notNull(),
		memoryGibHourMicros: money("memory_gib_hour_micros").notNull(),
		volumeGibMonthMicros: money("volume_gib_month_micros").notNull(),
		snapshotGibMonthMicros: money("snapshot_gib_month_micros").notNull(),
		/** Per kWh of attributed energy (the energy ledger's rows); 0: energy is not charged. */
		energyKwhMicros: money("energy_kwh_micros").notNull().default(sql`0`),
		taxRatePpm: integer("tax_rate_ppm").notNull().default(0),
		createdAt: createdAt(),
	},
	(t) => [
		uniqueIndex("price_plan_versions_plan_effective_key").on(t.pricePlanId, t.effectiveAt),
		check(
			"price_plan_versions_rates_check",
			sql`${t.vcpuHourMicros} >= 0 and ${t.memoryGibHourMicros} >= 0 and ${t.volumeGibMonthMicros} >= 0 and ${t.snapshotGibMonthMicros} >= 0 and ${t.energyKwhMicros} >= 0`,
		),
		check("price_plan_versions_tax_check", sql`${t.taxRatePpm} between 0 and 1000000`),
	],
);

/**
 * One request to make the invoices of a range of calendar months (an operator's, or the
 * workers' schedule). A scheduled run is unique per month, so every worker may try to schedule it.
 */
export const invoiceRuns = pgTable(
	"invoice_runs",
	{
		id: idColumn(),
		periodStart: instant("period_start").notNull(),
		periodEnd: instant("period_end").notNull(),
		scheduled: boolean("scheduled").notNull().default(false),
		createdAt: createdAt(),
	},
	(t) => [
		uniqueIndex("invoice_runs_scheduled_key").on(t.periodStart).where(sql`${t.scheduled}`),
		check("invoice_runs_period_check", sql`${t.periodEnd} > ${t.periodStart}`),
	],
);

export const INVOICE_STATUSES = ["draft", "finalized"] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

/**
 * One invoice per tenant and calendar month, enforced by the unique key that every run inserts
 * against (`on conflict do nothing`), so parallel or repeated runs make exactly one. No foreign
 * key to the tenant: invoices outlive tenants. A finalized invoice is frozen by a trigger
 * (migration 0005); its number is taken from `invoice_number_counters` when it is finalized.
 */
export const invoices = pgTable(
	"invoices",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id").notNull(),
		periodStart: instant("period_start").notNull(),
		periodEnd: instant("period_end").notNull(),
		pricePlanId: uuid("price_plan_id")
			.notNull()
			.references(() => pricePlans.id),
		currency: text("currency").notNull(),
		status: text("status", { enum: INVOICE_STATUSES }).notNull().default("draft"),
		number: text("number"),
		subtotalMicros: money("subtotal_micros").notNull(),
		taxRatePpm: integer("tax_rate_ppm").notNull(),
		taxMicros: money("tax_micros").notNull(),
		totalMicros: money("total_micros").notNull(),
		runId: uuid("run_id"),
		createdAt: createdAt(),
		finalizedAt: tsColumn("finalized_at"),
	},
	(t) => [
		uniqueIndex("invoices_tenant_period_key").on(t.tenantId, t.periodStart),
		uniqueIndex("invoices_number_key").on(t.number),
		index("invoices_tenant_idx").on(t.tenantId, t.id),
		index("invoices_draft_idx").on(t.createdAt).where(sql`${t.status} = 'draft'`),
		check("invoices_status_check", sql`${t.status} in ('draft', 'finalized')`),
		check("invoices_number_check", sql`(${t.status} = 'finalized') = (${t.number} is not null)`),
		check("invoices_total_check", sql`${t.totalMicros} = ${t.subtotalMicros} + ${t.taxMicros}`),
	],
);

/**
 * A line per meter and rate version of the invoice's own month (`usage`), and per meter and
 * version of an earlier month whose usage changed after it was invoiced (`adjustment`).
 * `usage_period_start` names the month the quantity belongs to, so what has been billed for a
 * month is the sum of its usage and adjustment lines on every invoice. `information` lines
 * (the month's energy in kWh and carbon in gCO2e) are always priced at zero and never billed.
 */
export const invoiceLines = pgTable(
	"invoice_lines",
	{
		id: idColumn(),
		invoiceId: uuid("invoice_id")
			.notNull()
			.references(() => invoices.id, { onDelete: "cascade" }),
		position: integer("position").notNull(),
		kind: text("kind", { enum: ["usage", "adjustment", "information"] }).notNull(),
		meter: text("meter").notNull(),
		usagePeriodStart: instant("usage_period_start").notNull(),
		priceVersionId: uuid("price_version_id")
			.notNull()
			.references(() => pricePlanVersions.id),
		quantityNanos: bigint("quantity_nanos", { mode: "bigint" }).notNull(),
		unit: text("unit").notNull(),
		unitPriceMicros: money("unit_price_micros").notNull(),
		amountMicros: money("amount_micros").notNull(),
	},
	(t) => [
		uniqueIndex("invoice_lines_position_key").on(t.invoiceId, t.position),
		check("invoice_lines_kind_check", sql`${t.kind} in ('usage', 'adjustment', 'information')`),
		check(
			"invoice_lines_information_check",
			sql`${t.kind} <> 'information' or (${t.unitPriceMicros} = 0 and ${t.amountMicros} = 0)`,
		),
	],
);

/**
 * The last invoice number given out per year. Finalizing increments it in the finalizing
 * transaction (the row stays locked until commit), so numbers are gapless: a finalize that rolls
 * back gives its number back, and parallel finalizes queue on the row.
 */
export const invoiceNumberCounters = pgTable("invoice_number_counters", {
	year: integer("year").primaryKey(),
	lastNumber: integer("last_number").notNull(),
	updatedAt: updatedAt(),
});
