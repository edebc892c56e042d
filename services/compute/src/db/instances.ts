import type { Db } from "@igoudar/db";
import { flavors, type InstanceStatus, instances, placementGroups, zones } from "@igoudar/db";
import { and, asc, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";

export type InstanceRow = typeof instances.$inferSelect;

/** An instance with the names its view shows instead of ids. */
export interface InstanceRecord extends InstanceRow {
	flavorName: string;
	zoneName: string;
	placementGroupName: string | null;
}

const recordColumns = {
	instance: instances,
	flavorName: flavors.name,
	zoneName: zones.name,
	placementGroupName: placementGroups.name,
};

function toRecord(row: {
	instance: InstanceRow;
	flavorName: string;
	zoneName: string;
	placementGroupName: string | null;
}) {
	return {
		...row.instance,
		flavorName: row.flavorName,
		zoneName: row.zoneName,
		placementGroupName: row.placementGroupName,
	};
}

function selectRecords(db: Db) {
	return db
		.select(recordColumns)
		.from(instances)
		.innerJoin(flavors, eq(flavors.id, instances.flavorId))
		.innerJoin(zones, eq(zones.id, instances.zoneId))
		.leftJoin(placementGroups, eq(placementGroups.id, instances.placementGroupId));
}

export async function findInstance(db: Db, tenantId: string, id: string): Promise<InstanceRecord | undefined> {
	const [row] = await selectRecords(db)
		.where(and(eq(instances.id, id), eq(instances.tenantId, tenantId), isNull(instances.deletedAt)))
		.limit(1);
	return row ? toRecord(row) : undefined;
}

/** By id only: for workers, which act on behalf of whichever tenant owns the instance. */
export async function findInstanceById(db: Db, id: string): Promise<InstanceRow | undefined> {
	const [row] = await db.select().from(instances).where(eq(instances.id, id)).limit(1);
	return row;
}

export async function listInstances(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
	filter: { status?: InstanceStatus; zoneId?: string } = {},
): Promise<InstanceRecord[]> {
	const rows = await selectRecords(db)
		.where(
			and(
				eq(instances.tenantId, tenantId),
				isNull(instances.deletedAt),
				page.after ? gt(instances.id, page.after) : undefined,
				filter.status ? eq(instances.status, filter.status) : undefined,
				filter.zoneId ? eq(instances.zoneId, filter.zoneId) : undefined,
			),
		)
		.orderBy(asc(instances.id))
		.limit(page.limit + 1);
	return rows.map(toRecord);
}

export async function insertInstance(db: Db, values: typeof instances.$inferInsert): Promise<InstanceRow> {
	const [row] = await db.insert(instances).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

/**
 * Moves an instance from one of `from` to `to` in one conditional UPDATE: two actions racing on
 * the same instance cannot both win.
 */
export async function transitionInstance(
	db: Db,
	id: string,
	from: readonly InstanceStatus[],
	to: InstanceStatus,
	extra: Partial<Pick<InstanceRow, "hostId" | "deletedAt">> = {},
): Promise<InstanceRow | undefined> {
	const [row] = await db
		.update(instances)
		.set({ status: to, updatedAt: new Date(), ...extra })
		.where(and(eq(instances.id, id), isNull(instances.deletedAt), inArray(instances.status, [...from])))
		.returning();
	return row;
}

/**
 * Matches a flavor, zone or placement group given by name or by id. A uuid-shaped value may also
 * be a valid name, so callers order by `idMatchFirst` to prefer the id when both exist.
 */
export function byNameOrId<T extends { id: unknown; name: unknown }>(table: T, value: string) {
	const t = table as unknown as { id: Parameters<typeof eq>[0]; name: Parameters<typeof eq>[0] };
	return isUuid(value) ? or(eq(t.id, value), eq(t.name, value)) : eq(t.name, value);
}

export function idMatchFirst<T extends { id: unknown }>(table: T, value: string) {
	const t = table as unknown as { id: Parameters<typeof eq>[0] };
	return isUuid(value) ? sql`(${t.id} = ${value}::uuid) desc` : sql`1`;
}

function isUuid(value: string): boolean {
	return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

export async function countLiveInstancesInGroup(db: Db, groupId: string): Promise<number> {
	const [row] = await db
		.select({ n: sql<number>`count(*)::int` })
		.from(instances)
		.where(and(eq(instances.placementGroupId, groupId), isNull(instances.deletedAt)));
	return row?.n ?? 0;
}
