import type { Db } from "@igoudar/db";
import { isUuid, pricePlans, pricePlanVersions, tenants } from "@igoudar/db";
import { and, asc, eq, gt, inArray, or, sql } from "drizzle-orm";

export type PricePlanRow = typeof pricePlans.$inferSelect;
export type PriceVersionRow = typeof pricePlanVersions.$inferSelect;

export interface PricePlanRecord extends PricePlanRow {
	/** Earliest first. */
	versions: PriceVersionRow[];
}

export async function insertPricePlan(db: Db, values: typeof pricePlans.$inferInsert): Promise<PricePlanRow> {
	const [row] = await db.insert(pricePlans).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** Millionths as an exact bigint; written through SQL so it never becomes a JavaScript number. */
export const ppmValue = (ppm: bigint) => sql<number>`${ppm.toString()}::integer`;

export async function insertPriceVersion(
	db: Db,
	values: Omit<typeof pricePlanVersions.$inferInsert, "taxRatePpm"> & { taxRatePpm: bigint },
): Promise<PriceVersionRow> {
	const [row] = await db
		.insert(pricePlanVersions)
		.values({ ...values, taxRatePpm: ppmValue(values.taxRatePpm) })
		.returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

async function withVersions(db: Db, plans: PricePlanRow[]): Promise<PricePlanRecord[]> {
	if (plans.length === 0) return [];
	const versions = await db
		.select()
		.from(pricePlanVersions)
		.where(
			inArray(
				pricePlanVersions.pricePlanId,
				plans.map((plan) => plan.id),
			),
		)
		.orderBy(asc(pricePlanVersions.effectiveAt));
	return plans.map((plan) => ({ ...plan, versions: versions.filter((v) => v.pricePlanId === plan.id) }));
}

/** A plan by id or by name (a name is never a uuid: names are lowercase words). */
export async function findPricePlan(db: Db, ref: string): Promise<PricePlanRecord | undefined> {
	const [row] = await db
		.select()
		.from(pricePlans)
		.where(isUuid(ref) ? or(eq(pricePlans.id, ref), eq(pricePlans.name, ref)) : eq(pricePlans.name, ref))
		.limit(1);
	return row ? (await withVersions(db, [row]))[0] : undefined;
}

/** Locks the plan row: versions are added under it, so two adds cannot interleave with a check. */
export async function lockPricePlan(db: Db, id: string): Promise<PricePlanRow | undefined> {
	const [row] = await db.select().from(pricePlans).where(eq(pricePlans.id, id)).for("update");
	return row;
}

export async function touchPricePlan(db: Db, id: string): Promise<void> {
	await db.update(pricePlans).set({ updatedAt: sql`now()` }).where(eq(pricePlans.id, id));
}

export async function listPricePlans(db: Db, page: { limit: number; after?: string }): Promise<PricePlanRecord[]> {
	const rows = await db
		.select()
		.from(pricePlans)
		.where(page.after ? gt(pricePlans.id, page.after) : undefined)
		.orderBy(asc(pricePlans.id))
		.limit(page.limit + 1);
	return withVersions(db, rows);
}

/** The plan assigned to a tenant, or undefined when it has none (or the tenant is gone). */
export async function findTenantPlanId(db: Db, tenantId: string): Promise<string | undefined> {
	const [row] = await db
		.select({ planId: tenants.pricePlanId })
		.from(tenants)
		.where(and(eq(tenants.id, tenantId)))
		.limit(1);
	return row?.planId ?? undefined;
}
