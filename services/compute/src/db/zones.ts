import type { Db } from "@igoudar/db";
import { hosts, zones } from "@igoudar/db";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import { idFirst, nameOrId } from "./references";

export type ZoneRow = typeof zones.$inferSelect;

export async function insertZone(db: Db, values: typeof zones.$inferInsert): Promise<ZoneRow> {
	const [row] = await db.insert(zones).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findZone(db: Db, id: string): Promise<ZoneRow | undefined> {
	const [row] = await db.select().from(zones).where(eq(zones.id, id)).limit(1);
	return row;
}

/** A zone given by name or by id (see references.ts). */
export async function findZoneByRef(db: Db, ref: string): Promise<ZoneRow | undefined> {
	const [row] = await db.select().from(zones).where(nameOrId(zones, ref)).orderBy(idFirst(zones, ref)).limit(1);
	return row;
}

export async function listZones(db: Db, page: { limit: number; after?: string }): Promise<ZoneRow[]> {
	return db
		.select()
		.from(zones)
		.where(page.after ? gt(zones.id, page.after) : undefined)
		.orderBy(asc(zones.id))
		.limit(page.limit + 1);
}

/**
 * Deletes the zone only while no host stands in it. A host inserted concurrently is caught by
 * the foreign key instead (the caller maps that violation to the same conflict).
 */
export async function deleteZoneIfUnused(db: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const deleted = await db
		.delete(zones)
		.where(and(eq(zones.id, id), sql`not exists (select 1 from ${hosts} where ${hosts.zoneId} = ${id})`))
		.returning({ id: zones.id });
	if (deleted.length === 1) return "deleted";
	return (await findZone(db, id)) ? "in_use" : "missing";
}
