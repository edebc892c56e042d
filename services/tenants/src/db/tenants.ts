import type { Db } from "@igoudar/db";
import { instances, quotas, tenants } from "@igoudar/db";
import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";

export type TenantRow = typeof tenants.$inferSelect;

export async function insertTenant(db: Db, values: typeof tenants.$inferInsert): Promise<TenantRow> {
	const [row] = await db.insert(tenants).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findTenant(db: Db, id: string): Promise<TenantRow | undefined> {
	const [row] = await db.select().from(tenants).where(eq(tenants.id, id)).limit(1);
	return row;
}

export async function listTenants(
	db: Db,
	page: { limit: number; after?: string },
	onlyId?: string,
): Promise<TenantRow[]> {
	const conditions = [page.after ? gt(tenants.id, page.after) : undefined, onlyId ? eq(tenants.id, onlyId) : undefined];
	return db
		.select()
		.from(tenants)
		.where(and(...conditions))
		.orderBy(asc(tenants.id))
		.limit(page.limit + 1);
}

export async function updateTenant(
	db: Db,
	id: string,
	changes: Partial<Pick<TenantRow, "displayName" | "status" | "dataResidency" | "pricePlanId">>,
): Promise<TenantRow | undefined> {
	const [row] = await db
		.update(tenants)
		.set({ ...changes, updatedAt: new Date() })
		.where(eq(tenants.id, id))
		.returning();
	return row;
}

/**
 * Deletes the tenant only if it owns nothing: no quota usage and no live instance. Its history
 * (deleted instances, placement groups) goes with it. Must run in a transaction: the tenant row
 * is locked first, which waits for any create holding it (creates take FOR KEY SHARE), so the
 * checks that follow see what that create made. A create that comes after finds no tenant.
 */
export async function deleteTenantIfEmpty(tx: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const [locked] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).for("update");
	if (!locked) return "missing";
	const [usage] = await tx
		.select({ n: sql<number>`count(*)::int` })
		.from(quotas)
		.where(and(eq(quotas.tenantId, id), gt(quotas.used, 0)));
	// A failed instance holds no quota but is still the tenant's, until deleted.
	const [live] = await tx
		.select({ id: instances.id })
		.from(instances)
		.where(and(eq(instances.tenantId, id), isNull(instances.deletedAt)))
		.limit(1);
	if ((usage?.n ?? 0) > 0 || live) return "in_use";
	await tx.delete(tenants).where(eq(tenants.id, id));
	return "deleted";
}
