import { isUuid } from "@igoudar/db";
import { eq, or, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

/**
 * Requests may name a flavor, zone or placement group by name or by id. A uuid-shaped value is
 * also a valid name (lowercase hex and dashes), so it matches either, and `idFirst` orders an id
 * match before a name match: ids are what automation passes around.
 */
export function nameOrId(table: { id: PgColumn; name: PgColumn }, ref: string): SQL | undefined {
	return isUuid(ref) ? or(eq(table.id, ref), eq(table.name, ref)) : eq(table.name, ref);
}

export function idFirst(table: { id: PgColumn }, ref: string): SQL {
	return isUuid(ref) ? sql`(${table.id} = ${ref}::uuid) desc` : sql`1`;
}
