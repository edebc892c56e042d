import type { Db } from "@igoudar/db";
import { flavors, instances } from "@igoudar/db";
import { and, asc, eq, gt, isNull } from "drizzle-orm";

export type FlavorRow = typeof flavors.$inferSelect;

export async function insertFlavor(db: Db, values: typeof flavors.$inferInsert): Promise<FlavorRow> {
	const [row] = await db.insert(flavors).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findFlavor(db: Db, id: string): Promise<FlavorRow | undefined> {
	const [row] = await db.select().from(flavors).where(eq(flavors.id, id)).limit(1);
	return row;
}

export async function listFlavors(db: Db, page: { limit: number; after?: string }): Promise<FlavorRow[]> {
	return db
		.select()
		.from(flavors)
		.where(page.after ? gt(flavors.id, page.after) : undefined)
		.orderBy(asc(flavors.id))
		.limit(page.limit + 1);
}

/**
 * Deletes the flavor only while no live instance uses it; history (deleted instances) keeps its
 * copy of the size and loses only the reference. Must run in a transaction: the flavor row is
 * locked first, which waits for any create holding it FOR SHARE, and the check that follows
 * then sees that create's instance. (A single DELETE ... WHERE NOT EXISTS would not: Postgres
 * re-checks a locked row, not the subquery.)
 */
export async function deleteFlavorIfUnused(tx: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const [locked] = await tx.select({ id: flavors.id }).from(flavors).where(eq(flavors.id, id)).for("update");
	if (!locked) return "missing";
	const [used] = await tx
		.select({ id: instances.id })
		.from(instances)
		.where(and(eq(instances.flavorId, id), isNull(instances.deletedAt)))
		.limit(1);
	if (used) return "in_use";
	await tx.delete(flavors).where(eq(flavors.id, id));
	return "deleted";
}
