import type { Db } from "@igoudar/db";
import { serviceAccounts } from "@igoudar/db";
import { and, asc, eq, gt, isNull } from "drizzle-orm";

export type ServiceAccountRow = typeof serviceAccounts.$inferSelect;

export async function insertServiceAccount(
	db: Db,
	values: typeof serviceAccounts.$inferInsert,
): Promise<ServiceAccountRow> {
	const [row] = await db.insert(serviceAccounts).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** Live accounts only: a revoked client id authenticates nothing. */
export async function findLiveAccountByClientId(db: Db, clientId: string): Promise<ServiceAccountRow | undefined> {
	const [row] = await db
		.select()
		.from(serviceAccounts)
		.where(and(eq(serviceAccounts.clientId, clientId), isNull(serviceAccounts.revokedAt)))
		.limit(1);
	return row;
}

export async function findAccountByClientId(db: Db, clientId: string): Promise<ServiceAccountRow | undefined> {
	const [row] = await db.select().from(serviceAccounts).where(eq(serviceAccounts.clientId, clientId)).limit(1);
	return row;
}

export async function listTenantAccounts(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
): Promise<ServiceAccountRow[]> {
	return db
		.select()
		.from(serviceAccounts)
		.where(
			and(
				eq(serviceAccounts.tenantId, tenantId),
				isNull(serviceAccounts.revokedAt),
				page.after ? gt(serviceAccounts.id, page.after) : undefined,
			),
		)
		.orderBy(asc(serviceAccounts.id))
		.limit(page.limit + 1);
}

export async function revokeTenantAccount(db: Db, tenantId: string, id: string): Promise<boolean> {
	const revoked = await db
		.update(serviceAccounts)
		.set({ revokedAt: new Date() })
		.where(and(eq(serviceAccounts.id, id), eq(serviceAccounts.tenantId, tenantId), isNull(serviceAccounts.revokedAt)))
		.returning({ id: serviceAccounts.id });
	return revoked.length === 1;
}

export async function countLiveOperators(db: Db): Promise<number> {
	const rows = await db
		.select({ id: serviceAccounts.id })
		.from(serviceAccounts)
		.where(and(eq(serviceAccounts.role, "operator"), isNull(serviceAccounts.revokedAt)))
		.limit(1);
	return rows.length;
}

export async function updateAccount(
	db: Db,
	id: string,
	changes: Partial<Pick<ServiceAccountRow, "secretHash" | "revokedAt" | "role" | "tenantId">>,
): Promise<void> {
	await db.update(serviceAccounts).set(changes).where(eq(serviceAccounts.id, id));
}
