import type { Db } from "@igoudar/db";
import { energySiteReadings, energySites, energySiteZones, hosts, zones } from "@igoudar/db";
import { and, eq, gte, sql } from "drizzle-orm";

export const DEMO_SITE = "dakhla-demo";
export const DEMO_ZONE = "dakhla-demo";
/** Four hosts of a plausible size: 64 cores, 512 GiB, 180-520 W, 1.6 t CO2e to make, 5 years. */
const DEMO_HOSTS = ["dakhla-demo-h1", "dakhla-demo-h2", "dakhla-demo-h3", "dakhla-demo-h4"];

/**
 * The demo site, its zone and hosts, made once whoever gets there first (every insert ignores a
 * row that exists). The hosts start disabled: placement must not surprise anyone by putting their
 * instances in a zone they did not make (a volume made elsewhere could not attach). An operator
 * who enables them gets instances placed there, and the demo's readings follow their load.
 * Returns the site's id.
 */
export async function ensureDemoSite(db: Db): Promise<string> {
	return db.transaction(async (tx) => {
		await tx.insert(zones).values({ name: DEMO_ZONE, jurisdiction: "MA" }).onConflictDoNothing();
		const [zone] = await tx.select({ id: zones.id }).from(zones).where(eq(zones.name, DEMO_ZONE));
		if (!zone) throw new Error("demo zone vanished");
		await tx
			.insert(hosts)
			.values(
				DEMO_HOSTS.map((name) => ({
					name,
					zoneId: zone.id,
					vcpus: 64,
					memoryMib: 524_288,
					diskGib: 4_000,
					status: "disabled" as const,
					powerIdleW: 180,
					powerMaxW: 520,
					embodiedKgco2e: 1_600,
					lifetimeYears: 5,
					// As if racked two days ago, so the seeded hours saw them.
					createdAt: sql`now() - interval '2 days'`,
				})),
			)
			.onConflictDoNothing();
		await tx.insert(energySites).values({ name: DEMO_SITE }).onConflictDoNothing();
		const [site] = await tx.select({ id: energySites.id }).from(energySites).where(eq(energySites.name, DEMO_SITE));
		if (!site) throw new Error("demo site vanished");
		await tx.insert(energySiteZones).values({ siteId: site.id, zoneId: zone.id }).onConflictDoNothing();
		return site.id;
	});
}

/** The hours since `since` that already have a site reading. */
export async function readHours(db: Db, siteId: string, since: Date): Promise<Set<number>> {
	const rows = await db
		.select({ hour: energySiteReadings.hour })
		.from(energySiteReadings)
		.where(and(eq(energySiteReadings.siteId, siteId), gte(energySiteReadings.hour, since)));
	return new Set(rows.map((row) => row.hour.getTime()));
}
