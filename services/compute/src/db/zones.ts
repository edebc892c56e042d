import type { Db } from "@igoudar/db";
import { hosts, zones } from "@igoudar/db";
import { and, asc, eq, gt, or, sql } from "drizzle-orm";

export type ZoneRow = typeof zones.$inferSelect;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when the value can be compared with a uuid column (Postgres rejects any other string). */
export function looksLikeUuid(value: string): boolean {
	return UUID.test(value);
}

export async function insertZone(db: Db, values: typeof zones.$inferInsert): Promise<ZoneRow> {
	const [row] = await db.insert(zones).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findZone(db: Db, id: string): Promise<ZoneRow | undefined> {
	const [row] = await db.select().from(zones).where(eq(zones.id, id)).limit(1);
	return row;
}

/**
 * A zone given by name or by id. A uuid is also a valid name (lowercase hex and dashes), so
 * when both match different zones the id wins: ids are what automation passes around.
 */
export async function findZoneByRef(db: Db, ref: string): Promise<ZoneRow | undefined> {
	if (!looksLikeUuid(ref)) {
		const [row] = await db.select().from(zones).where(eq(zones.name, ref)).limit(1);
		return row;
	}
	const [row] = await db
		.select()
		.from(zones)
		.where(or(eq(zones.id, ref), eq(zones.name, ref)))
		.orderBy(sql`${zones.id} = ${ref} desc`)
		.limit(1);
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
