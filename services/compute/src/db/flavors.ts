import type { Db } from "@igoudar/db";
import { flavors, instances } from "@igoudar/db";
import { and, asc, eq, gt, sql } from "drizzle-orm";

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
 * Deletes the flavor only while no live instance uses it. Deleted instances keep their row (and
 * so their flavor reference) for billing: those make the delete fail on the foreign key, which
 * the caller reports as a conflict of its own.
 */
export async function deleteFlavorIfUnused(db: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const deleted = await db
		.delete(flavors)
		.where(
			and(
				eq(flavors.id, id),
				sql`not exists (select 1 from ${instances} where ${instances.flavorId} = ${id} and ${instances.deletedAt} is null)`,
			),
		)
		.returning({ id: flavors.id });
	if (deleted.length === 1) return "deleted";
	return (await findFlavor(db, id)) ? "in_use" : "missing";
}
