import type { Db } from "@igoudar/db";
import { hosts, instances, zones } from "@igoudar/db";
import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import { nameOrId } from "./references";

export type HostRow = typeof hosts.$inferSelect;
export type HostStatus = HostRow["status"];

/** A host with the zone name its view shows instead of the zone id. */
export interface HostRecord extends HostRow {
	zoneName: string;
}

function selectRecords(db: Db) {
	return db.select({ host: hosts, zoneName: zones.name }).from(hosts).innerJoin(zones, eq(zones.id, hosts.zoneId));
}

function toRecord(row: { host: HostRow; zoneName: string }): HostRecord {
	return { ...row.host, zoneName: row.zoneName };
}

export async function insertHost(db: Db, values: typeof hosts.$inferInsert): Promise<HostRow> {
	const [row] = await db.insert(hosts).values(values).returning();
	if (!row) throw new Error("insert returned no row");
	return row;
}

export async function findHost(db: Db, id: string): Promise<HostRecord | undefined> {
	const [row] = await selectRecords(db).where(eq(hosts.id, id)).limit(1);
	return row ? toRecord(row) : undefined;
}

/**
 * Locks the host row for the rest of the transaction. Placement claims update the same row, so
 * a check made under this lock cannot be overtaken by a claim before the change it guards.
 */
export async function lockHost(db: Db, id: string): Promise<HostRow | undefined> {
	const [row] = await db.select().from(hosts).where(eq(hosts.id, id)).for("update");
	return row;
}

export interface HostFilter {
	/** Zone name or id. */
	zone?: string;
	status?: HostStatus;
}

export async function listHosts(
	db: Db,
	page: { limit: number; after?: string },
	filter: HostFilter = {},
): Promise<HostRecord[]> {
	const zoneCondition = filter.zone === undefined ? undefined : nameOrId(zones, filter.zone);
	const rows = await selectRecords(db)
		.where(
			and(
				page.after ? gt(hosts.id, page.after) : undefined,
				zoneCondition,
				filter.status ? eq(hosts.status, filter.status) : undefined,
			),
		)
		.orderBy(asc(hosts.id))
		.limit(page.limit + 1);
	return rows.map(toRecord);
}

export type HostChanges = Partial<
	Pick<
		HostRow,
		| "status"
		| "cpuAllocationRatio"
		| "memoryAllocationRatio"
		| "powerIdleW"
		| "powerMaxW"
		| "embodiedKgco2e"
		| "lifetimeYears"
	>
>;

export async function updateHost(db: Db, id: string, changes: HostChanges): Promise<void> {
	await db
		.update(hosts)
		.set({ ...changes, updatedAt: new Date() })
		.where(eq(hosts.id, id));
}

/**
 * Deletes the host only while nothing holds capacity on it. `instance_count` is changed by the
 * same conditional UPDATE that claims capacity, so checking it on the row itself is re-evaluated
 * after waiting for a concurrent claim's row lock; the `not exists` covers any drift between the
 * counter and the instances, and the foreign key backs both.
 */
export async function deleteHostIfIdle(db: Db, id: string): Promise<"deleted" | "missing" | "in_use"> {
	const deleted = await db
		.delete(hosts)
		.where(
			and(
				eq(hosts.id, id),
				eq(hosts.instanceCount, 0),
				sql`not exists (select 1 from ${instances} where ${instances.hostId} = ${id} and ${isNull(instances.deletedAt)})`,
			),
		)
		.returning({ id: hosts.id });
	if (deleted.length === 1) return "deleted";
	return (await findHost(db, id)) ? "in_use" : "missing";
}
