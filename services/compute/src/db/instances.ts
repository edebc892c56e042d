import {
	type Db,
	flavors,
	type InstanceStatus,
	instances,
	placementGroups,
	prepared,
	volumes,
	zones,
} from "@igoudar/db";
import { and, asc, eq, gt, inArray, isNull, sql, type WithSubquery } from "drizzle-orm";

export type InstanceRow = typeof instances.$inferSelect;

/** An instance with the names its view shows instead of ids, and the volumes attached to it. */
export interface InstanceRecord extends InstanceRow {
	flavorName: string;
	zoneName: string;
	placementGroupName: string | null;
	volumeIds: string[];
}

const recordColumns = {
	instance: instances,
	flavorName: flavors.name,
	zoneName: zones.name,
	placementGroupName: placementGroups.name,
	// The attachment lives on the volume (`volumes.instance_id`), its one source of truth.
	volumeIds: sql<string[]>`coalesce((select array_agg(${volumes.id} order by ${volumes.id}) from ${volumes}
		where ${volumes.instanceId} = ${instances.id} and ${volumes.deletedAt} is null), '{}')`,
};

function toRecord(row: {
	instance: InstanceRow;
	flavorName: string;
	zoneName: string;
	placementGroupName: string | null;
	volumeIds: string[];
}) {
	return {
		...row.instance,
		flavorName: row.flavorName,
		zoneName: row.zoneName,
		placementGroupName: row.placementGroupName,
		volumeIds: row.volumeIds,
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
	const query = prepared(db, "instance_get", (d) =>
		selectRecords(d)
			.where(
				and(
					eq(instances.id, sql.placeholder("id")),
					eq(instances.tenantId, sql.placeholder("tenantId")),
					isNull(instances.deletedAt),
				),
			)
			.limit(1),
	);
	const [row] = await query.execute({ id, tenantId });
	return row ? toRecord(row) : undefined;
}

/** By id only: for workers, which act on behalf of whichever tenant owns the instance. */
export async function findInstanceById(db: Db, id: string): Promise<InstanceRow | undefined> {
	const [row] = await db.select().from(instances).where(eq(instances.id, id)).limit(1);
	return row;
}

/** `findInstanceById` for many ids in one SELECT; the ids not found are absent from the map. */
export async function findInstancesByIds(db: Db, ids: readonly string[]): Promise<Map<string, InstanceRow>> {
	const rows = await db
		.select()
		.from(instances)
		.where(sql`${instances.id} = any(${sql.param(ids)}::uuid[])`);
	return new Map(rows.map((row) => [row.id, row]));
}

export async function listInstances(
	db: Db,
	tenantId: string,
	page: { limit: number; after?: string },
	filter: { status?: InstanceStatus; zoneId?: string } = {},
): Promise<InstanceRecord[]> {
	// One prepared statement per combination of filters: each is a different SQL text.
	const shape = `instance_list${page.after ? "_after" : ""}${filter.status ? "_status" : ""}${filter.zoneId ? "_zone" : ""}`;
	const query = prepared(db, shape, (d) =>
		selectRecords(d)
			.where(
				and(
					eq(instances.tenantId, sql.placeholder("tenantId")),
					isNull(instances.deletedAt),
					page.after ? gt(instances.id, sql.placeholder("after")) : undefined,
					filter.status ? eq(instances.status, sql.placeholder("status")) : undefined,
					filter.zoneId ? eq(instances.zoneId, sql.placeholder("zoneId")) : undefined,
				),
			)
			.orderBy(asc(instances.id))
			.limit(sql.placeholder("limit")),
	);
	const rows = await query.execute({
		tenantId,
		after: page.after,
		status: filter.status,
		zoneId: filter.zoneId,
		limit: page.limit + 1,
	});
	return rows.map(toRecord);
}

/**
 * The insert of new instances as a statement to run inside another (a CTE of
 * `enqueueOperation`), so the instances, their operations, outbox rows and audit events are one
 * round trip. Every column is given, so the caller knows the rows without reading them back.
 */
export function insertInstancesAlongside(db: Db, rows: readonly InstanceRow[]): WithSubquery {
	return db.$with("created_instances").as(
		db
			.insert(instances)
			.values([...rows])
			.returning({ id: instances.id }),
	);
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
 * `transitionInstance` for many instances in one UPDATE; answers the ids that moved. Those not
 * answered were not live in one of `from` and were left as they were.
 */
export async function transitionInstances(
	db: Db,
	ids: readonly string[],
	from: readonly InstanceStatus[],
	to: InstanceStatus,
): Promise<Set<string>> {
	if (ids.length === 0) return new Set();
	const rows = await db
		.update(instances)
		.set({ status: to, updatedAt: new Date() })
		.where(
			and(
				sql`${instances.id} = any(${sql.param(ids)}::uuid[])`,
				isNull(instances.deletedAt),
				inArray(instances.status, [...from]),
			),
		)
		.returning({ id: instances.id });
	return new Set(rows.map((row) => row.id));
}

/** Locks a live instance for the rest of the transaction. */
export async function lockLiveInstance(tx: Db, id: string): Promise<InstanceRow | undefined> {
	const [row] = await tx
		.select()
		.from(instances)
		.where(and(eq(instances.id, id), isNull(instances.deletedAt)))
		.for("update");
	return row;
}

/**
 * Clears the host an instance held (the caller released its claims in the same transaction):
 * `fail` leaves it visible as `failed`, unless a delete is already under way (a create cancelled
 * by that delete), which keeps `deleting` for the delete to finish; `delete` retires it.
 */
export async function clearInstanceHost(tx: Db, id: string, outcome: "fail" | "delete"): Promise<void> {
	await tx
		.update(instances)
		.set({
			hostId: null,
			updatedAt: new Date(),
			...(outcome === "delete"
				? { deletedAt: new Date(), status: "deleting" as const }
				: { status: sql`case when ${instances.status} = 'deleting' then 'deleting' else 'failed' end` }),
		})
		.where(eq(instances.id, id));
}

export async function countLiveInstancesInGroup(db: Db, groupId: string): Promise<number> {
	const [row] = await db
		.select({ n: sql<number>`count(*)::int` })
		.from(instances)
		.where(and(eq(instances.placementGroupId, groupId), isNull(instances.deletedAt)));
	return row?.n ?? 0;
}
