import { type Db, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import { latestInvoicedPeriodEnd } from "../db/invoices";
import {
	findPricePlan,
	findTenantPlanId,
	insertPricePlan,
	insertPriceVersion,
	listPricePlans,
	lockPricePlan,
	type PricePlanRecord,
	type PriceVersionRow,
	touchPricePlan,
} from "../db/price-plans";
import { isKnownCurrency, MONEY_SCALE } from "../domain/currencies";
import { formatDecimal, parseDecimal } from "../domain/decimal";
import { dateOfMicros, microsOf } from "../domain/instants";
import { METERS, type Meter } from "../domain/metering";
import { type RateVersion, versionAt } from "../domain/rating";
import type { BillingSettings } from "../settings";

/** Rates on the wire, per meter's unit: `vcpu_hour` is the price of one `vcpu_hours`. */
export const RATE_KEYS = {
	vcpu_hours: "vcpu_hour",
	memory_gib_hours: "memory_gib_hour",
	volume_gib_months: "volume_gib_month",
	snapshot_gib_months: "snapshot_gib_month",
	energy_kwh: "energy_kwh",
} as const satisfies Record<Meter, string>;
type RateKey = (typeof RATE_KEYS)[Meter];
export type Rates = Record<RateKey, string>;
/** Energy came after the first plans: a plan made without its rate does not charge for energy. */
const OPTIONAL_RATES: ReadonlySet<Meter> = new Set(["energy_kwh"]);
export type RatesInput = Omit<Rates, "energy_kwh"> & Partial<Pick<Rates, "energy_kwh">>;

export interface PriceVersionView {
	id: string;
	effective_at: string;
	rates: Rates;
	tax_rate: string;
}

export interface PricePlanView {
	id: string;
	name: string;
	currency: string;
	/** The version in effect now. */
	rates: Rates;
	tax_rate: string;
	versions: PriceVersionView[];
	created_at: string;
	updated_at: string;
}

/** A stored version as the rating functions take it. */
export function rateVersionOf(row: PriceVersionRow): RateVersion {
	return {
		id: row.id,
		effectiveAtMicros: microsOf(row.effectiveAt),
		rates: {
			vcpu_hours: row.vcpuHourMicros,
			memory_gib_hours: row.memoryGibHourMicros,
			volume_gib_months: row.volumeGibMonthMicros,
			snapshot_gib_months: row.snapshotGibMonthMicros,
			energy_kwh: row.energyKwhMicros,
		},
		taxRatePpm: BigInt(row.taxRatePpm),
	};
}

function presentVersion(version: RateVersion): PriceVersionView {
	const rates = Object.fromEntries(
		METERS.map((meter) => [RATE_KEYS[meter], formatDecimal(version.rates[meter], MONEY_SCALE)]),
	) as Rates;
	return {
		id: version.id,
		effective_at: dateOfMicros(version.effectiveAtMicros).toISOString(),
		rates,
		tax_rate: formatDecimal(version.taxRatePpm, 6),
	};
}

export function presentPricePlan(row: PricePlanRecord, now = new Date()): PricePlanView {
	const versions = row.versions.map(rateVersionOf);
	const current = versionAt(versions, microsOf(now));
	if (!current) throw new Error(`price plan ${row.id} has no version`);
	const view = presentVersion(current);
	return {
		id: row.id,
		name: row.name,
		currency: row.currency,
		rates: view.rates,
		tax_rate: view.tax_rate,
		versions: versions.map(presentVersion),
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

function parseRates(rates: Partial<Rates>, fallback?: RateVersion): Record<Meter, bigint> {
	const parsed = {} as Record<Meter, bigint>;
	for (const meter of METERS) {
		const text = rates[RATE_KEYS[meter]];
		const carried = fallback?.rates[meter] ?? (OPTIONAL_RATES.has(meter) ? 0n : undefined);
		const value = text === undefined ? carried : parseDecimal(text, MONEY_SCALE);
		if (value === undefined || value === null) {
			throw problems.validation(`rates.${RATE_KEYS[meter]} must be a decimal with at most 6 decimal places.`, [
				{ field: `body/rates/${RATE_KEYS[meter]}`, message: "invalid rate" },
			]);
		}
		parsed[meter] = value;
	}
	return parsed;
}

function parseTaxRate(text: string | undefined, fallback: bigint): bigint {
	if (text === undefined) return fallback;
	const ppm = parseDecimal(text, 6);
	if (ppm === null || ppm < 0n || ppm > 1_000_000n) {
		throw problems.validation("tax_rate must be a fraction between 0 and 1 with at most 6 decimal places.", [
			{ field: "body/tax_rate", message: "invalid tax rate" },
		]);
	}
	return ppm;
}

function versionValues(planId: string, effectiveAt: Date, rates: Record<Meter, bigint>, taxRatePpm: bigint) {
	return {
		pricePlanId: planId,
		effectiveAt,
		vcpuHourMicros: rates.vcpu_hours,
		memoryGibHourMicros: rates.memory_gib_hours,
		volumeGibMonthMicros: rates.volume_gib_months,
		snapshotGibMonthMicros: rates.snapshot_gib_months,
		energyKwhMicros: rates.energy_kwh,
		taxRatePpm,
	};
}

export interface PricePlanCreate {
	name: string;
	currency?: string;
	rates: RatesInput;
	tax_rate?: string;
	effective_at?: string;
}

export async function pricePlanCreate(ctx: Ctx, input: PricePlanCreate): Promise<PricePlanView> {
	const currency = input.currency ?? "MAD";
	if (!isKnownCurrency(currency)) {
		throw problems.validation(`${currency} is not a currency plans may use.`, [
			{ field: "body/currency", message: "unknown ISO 4217 currency" },
		]);
	}
	const rates = parseRates(input.rates);
	const tax = parseTaxRate(input.tax_rate, 0n);
	try {
		return await ctx.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			const plan = await insertPricePlan(db, { name: input.name, currency });
			// The first rates cover all time before any later version, so by default they date from the epoch.
			const effectiveAt = new Date(input.effective_at ?? 0);
			await insertPriceVersion(db, versionValues(plan.id, effectiveAt, rates, tax));
			await recordAudit(withDb(ctx, db), {
				tenantId: null,
				action: "price_plan.create",
				targetType: "price_plan",
				targetId: plan.id,
				detail: { ...input, currency },
			});
			const record = await findPricePlan(db, plan.id);
			if (!record) throw problems.internal();
			return idempotentResult(withDb(ctx, db), 201, presentPricePlan(record));
		});
	} catch (error) {
		if (isUniqueViolation(error, "price_plans_name_key"))
			throw problems.conflict(`A price plan named ${input.name} exists.`);
		throw error;
	}
}

export interface PriceVersionCreate {
	effective_at: string;
	rates?: Partial<Rates>;
	tax_rate?: string;
}

/**
 * A new version applies from its `effective_at`; what it leaves out is carried over from the
 * version it follows. It may not reach back into a period already invoiced under the plan: an
 * invoice, draft or final, is never re-rated.
 */
export async function priceVersionCreate(ctx: Ctx, planId: string, input: PriceVersionCreate): Promise<PricePlanView> {
	const effectiveAt = new Date(input.effective_at);
	try {
		return await ctx.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			if (!(await lockPricePlan(db, planId))) throw problems.notFound("price plan");
			const plan = await findPricePlan(db, planId);
			if (!plan) throw problems.notFound("price plan");
			const invoicedUntil = await latestInvoicedPeriodEnd(db, planId);
			if (invoicedUntil && effectiveAt < invoicedUntil) {
				throw problems.conflict(
					`The plan has been invoiced up to ${invoicedUntil.toISOString()}; a new rate may take effect from then on.`,
				);
			}
			const previous = versionAt(plan.versions.map(rateVersionOf), microsOf(effectiveAt));
			const rates = parseRates(input.rates ?? {}, previous);
			const tax = parseTaxRate(input.tax_rate, previous?.taxRatePpm ?? 0n);
			const version = await insertPriceVersion(db, versionValues(planId, effectiveAt, rates, tax));
			await touchPricePlan(db, planId);
			await recordAudit(withDb(ctx, db), {
				tenantId: null,
				action: "price_plan.version.create",
				targetType: "price_plan",
				targetId: planId,
				detail: { ...input, version_id: version.id },
			});
			const record = await findPricePlan(db, planId);
			if (!record) throw problems.internal();
			return idempotentResult(withDb(ctx, db), 201, presentPricePlan(record));
		});
	} catch (error) {
		if (isUniqueViolation(error, "price_plan_versions_plan_effective_key")) {
			throw problems.conflict(`The plan already has a version effective at ${effectiveAt.toISOString()}.`);
		}
		throw error;
	}
}

export async function pricePlanList(ctx: Ctx, page: PageRequest) {
	const now = new Date();
	return toPage(await listPricePlans(ctx.db, page), page, (row) => presentPricePlan(row, now));
}

export async function pricePlanGet(ctx: Ctx, ref: string): Promise<PricePlanView> {
	const plan = await findPricePlan(ctx.db, ref);
	if (!plan) throw problems.notFound("price plan");
	return presentPricePlan(plan);
}

export type PlanSource = "assigned" | "default" | "none";

/** The plan a tenant is invoiced under: its own, else the deployment's default, else none. */
export async function resolveTenantPlan(
	db: Db,
	settings: BillingSettings,
	tenantId: string,
): Promise<{ source: PlanSource; plan: PricePlanRecord | undefined }> {
	const assigned = await findTenantPlanId(db, tenantId);
	if (assigned) return { source: "assigned", plan: await findPricePlan(db, assigned) };
	if (settings.defaultPricePlan) {
		const plan = await findPricePlan(db, settings.defaultPricePlan);
		if (plan) return { source: "default", plan };
	}
	return { source: "none", plan: undefined };
}

export async function tenantPricePlanGet(ctx: Ctx, settings: BillingSettings, tenantId: string) {
	const { source, plan } = await resolveTenantPlan(ctx.db, settings, tenantId);
	return { source, plan: plan ? presentPricePlan(plan) : null };
}
