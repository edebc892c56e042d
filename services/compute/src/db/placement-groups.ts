import type { Db } from "@igoudar/db";
import { instances, placementGroups } from "@igoudar/db";
import { and, asc, eq, gt, inArray, isNotNull, isNull } from "drizzle-orm";
import { idFirst, nameOrId } from "./references";

export type PlacementGroupRow = typeof placementGroups.$inferSelect;

/** A group with the ids of its live members (instances not yet deleted), in id order. */
export interface PlacementGroupRecord extends PlacementGroupRow {
	instanceIds: string[];
}

export async function insertPlacementGroup(
	db: Db,
	values: typeof placementGroups.$inferInsert,
): Promise<PlacementGroupRow> {
	const [row] = await db.insert(placementGroups).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/** One query for the members of every group on a page, instead of one per group. */
async function withMembers(db: Db, tenantId: string, rows: PlacementGroupRow[]): Promise<PlacementGroupRecord[]> {
	if (rows.length === 0) return [];
	const members = await db
		.select({ id: instances.id, groupId: instances.placementGroupId })
		.from(instances)
		.where(
			and(
				eq(instances.tenantId, tenantId),
				inArray(
					instances.placementGroupId,
					rows.map((r) => r.id),
				),
				isNull(instances.deletedAt),
			),
		)
		.orderBy(asc(instances.id));
	const byGroup = new Map<string, string[]>();
	for (const member of members) {
		if (!member.groupId) continue;
		const list = byGroup.get(member.groupId) ?? [];
		list.push(member.id);
		byGroup.set(member.groupId, list);
	}
	return rows.map((row) => ({ ...row, instanceIds: byGroup.get(row.id) ?? [] }));
}

/** The id of the tenant's group given by name or by id. */
export async function findPlacementGroupIdByRef(db: Db, tenantId: string, ref: string): Promise<string | undefined> {
	const [row] = await db
		.select({ id: placementGroups.id })
		.from(placementGroups)
		.where(and(eq(placementGroups.tenantId, tenantId), nameOrId(placementGroups, ref)))
		.orderBy(idFirst(placementGroups, ref))
		.limit(1);
	return row?.id;
}

export async function findPlacementGroup(
	db: Db,
	tenantId: string,
	id: string,
): Promise<PlacementGroupRecord | undefined> {
	const rows = await db
		.select()
		.from(placementGroups)
		.where(and(eq(placementGroups.id, id), eq(placementGroups.tenantId, tenantId)))
		.limit(1);
	const [record] = await withMembers(db, tenantId, rows);
	return record;
}

export async function listPlacementGroups(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
): Promise<PlacementGroupRecord[]> {
	const rows = await db
		.select()
		.from(placementGroups)
		.where(and(eq(placementGroups.tenantId, tenantId), page.after ? gt(placementGroups.id, page.after) : undefined))
		.orderBy(asc(placementGroups.id))
		.limit(page.limit + 1);
	return withMembers(db, tenantId, rows);
}

/**
 * Deletes an empty group. The group row is locked first, the same lock an instance create takes
 * before it places a member, so no member can join between the check and the delete. Deleted
 * instances keep their rows (for billing) and with them a reference that would block the delete
 * forever on the foreign key; group membership means nothing once an instance is gone, so those
 * references are cleared in the same transaction.
 */
export async function deletePlacementGroupIfEmpty(
	db: Db,
	tenantId: string,
	id: string,
): Promise<"deleted" | "missing" | "in_use"> {
	const [group] = await db
		.select({ id: placementGroups.id })
		.from(placementGroups)
		.where(and(eq(placementGroups.id, id), eq(placementGroups.tenantId, tenantId)))
		.for("update");
	if (!group) return "missing";
	const [live] = await db
		.select({ id: instances.id })
		.from(instances)
		.where(and(eq(instances.placementGroupId, id), isNull(instances.deletedAt)))
		.limit(1);
	if (live) return "in_use";
	await db
		.update(instances)
		.set({ placementGroupId: null })
		.where(and(eq(instances.placementGroupId, id), isNotNull(instances.deletedAt)));
	await db.delete(placementGroups).where(eq(placementGroups.id, id));
	return "deleted";
}
