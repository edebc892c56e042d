import type { Db } from "@igoudar/db";
import { energySites, energySiteZones, hosts, isUuid, zones } from "@igoudar/db";
import { and, asc, eq, gt, inArray, or, sql } from "drizzle-orm";

export type SiteRow = typeof energySites.$inferSelect;

export interface SiteRecord extends SiteRow {
	zones: { id: string; name: string }[];
}

export async function insertSite(db: Db, name: string, zoneIds: string[]): Promise<SiteRow> {
	const [row] = await db.insert(energySites).values({ name }).returning();
	if (!row) throw new Error("site insert returned nothing");
	await db.insert(energySiteZones).values(zoneIds.map((zoneId) => ({ siteId: row.id, zoneId })));
	return row;
}

async function withZones(db: Db, rows: SiteRow[]): Promise<SiteRecord[]> {
	if (rows.length === 0) return [];
	const links = await db
		.select({ siteId: energySiteZones.siteId, id: zones.id, name: zones.name })
		.from(energySiteZones)
		.innerJoin(zones, eq(zones.id, energySiteZones.zoneId))
		.where(
			inArray(
				energySiteZones.siteId,
				rows.map((row) => row.id),
			),
		)
		.orderBy(asc(zones.name));
	return rows.map((row) => ({
		...row,
		zones: links.filter((link) => link.siteId === row.id).map(({ id, name }) => ({ id, name })),
	}));
}

export async function findSite(db: Db, id: string): Promise<SiteRecord | undefined> {
	const rows = await db.select().from(energySites).where(eq(energySites.id, id));
	return (await withZones(db, rows))[0];
}

export async function findSiteByName(db: Db, name: string): Promise<SiteRecord | undefined> {
	const rows = await db.select().from(energySites).where(eq(energySites.name, name));
	return (await withZones(db, rows))[0];
}

export async function listSites(db: Db, page: { limit: number; after?: string }): Promise<SiteRecord[]> {
	const rows = await db
		.select()
		.from(energySites)
		.where(page.after ? gt(energySites.id, page.after) : undefined)
		.orderBy(asc(energySites.id))
		.limit(page.limit + 1);
	return withZones(db, rows);
}

/** Every site id, oldest first: the demo and the metrics walk them. */
export async function allSites(db: Db): Promise<SiteRecord[]> {
	return withZones(db, await db.select().from(energySites).orderBy(asc(energySites.id)));
}

export interface SiteHost {
	id: string;
	name: string;
	zoneId: string;
}

/**
 * The hosts of the site's zones that `refs` name (by name or id). Names are unique across hosts,
 * so a reference matches at most one host; one standing in another site's zone matches none.
 */
export async function findSiteHosts(db: Db, siteId: string, refs: string[]): Promise<SiteHost[]> {
	if (refs.length === 0) return [];
	const ids = refs.filter(isUuid);
	return db
		.select({ id: hosts.id, name: hosts.name, zoneId: hosts.zoneId })
		.from(hosts)
		.innerJoin(energySiteZones, and(eq(energySiteZones.zoneId, hosts.zoneId), eq(energySiteZones.siteId, siteId)))
		.where(or(inArray(hosts.name, refs), ids.length > 0 ? inArray(hosts.id, ids) : sql`false`));
}
