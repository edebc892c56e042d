import type { Db } from "@igoudar/db";
import { instances, quotas, tenants } from "@igoudar/db";
import { and, asc, eq, gt, sql } from "drizzle-orm";

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
 * (deleted instances, placement groups) goes with it. The check and the delete are one statement, so a resource
 * created concurrently either blocks the delete or fails on the missing tenant.
 */
export async function deleteTenantIfEmpty(db: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const deleted = await db
		.delete(tenants)
		.where(
			and(
				eq(tenants.id, id),
				sql`not exists (select 1 from ${quotas} where ${quotas.tenantId} = ${id} and ${quotas.used} > 0)`,
				// A failed instance holds no quota but is still the tenant's, until deleted.
				sql`not exists (select 1 from ${instances} where ${instances.tenantId} = ${id} and ${instances.deletedAt} is null)`,
			),
		)
		.returning({ id: tenants.id });
	if (deleted.length === 1) return "deleted";
	return (await findTenant(db, id)) ? "in_use" : "missing";
}
