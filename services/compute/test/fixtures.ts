import { randomBytes } from "node:crypto";
import { type Db, flavors, hosts, instances, quotas, zones } from "@igoudar/db";
import { and, eq, isNull, sql } from "drizzle-orm";

const suffix = () => randomBytes(4).toString("hex");

/** Inventory written straight to the database: these tests are about placement, not the inventory API. */
export async function makeZone(db: Db, jurisdiction = "ZZ"): Promise<{ id: string; name: string }> {
	const [row] = await db
		.insert(zones)
		.values({ name: `z-${suffix()}`, jurisdiction })
		.returning();
	if (!row) throw new Error("no zone");
	return row;
}

export async function makeHost(
	db: Db,
	zoneId: string,
	size: { vcpus: number; memoryMib: number; diskGib?: number; cpuRatio?: number },
): Promise<{ id: string }> {
	const [row] = await db
		.insert(hosts)
		.values({
			name: `h-${suffix()}`,
			zoneId,
			vcpus: size.vcpus,
			memoryMib: size.memoryMib,
			diskGib: size.diskGib ?? 10_000,
			cpuAllocationRatio: size.cpuRatio ?? 1,
			memoryAllocationRatio: 1,
		})
		.returning();
	if (!row) throw new Error("no host");
	return row;
}

export async function makeFlavor(db: Db, size: { vcpus: number; memoryMib: number; diskGib?: number }) {
	const [row] = await db
		.insert(flavors)
		.values({ name: `f-${suffix()}`, vcpus: size.vcpus, memoryMib: size.memoryMib, diskGib: size.diskGib ?? 10 })
		.returning();
	if (!row) throw new Error("no flavor");
	return row;
}

export async function setQuota(db: Db, tenantId: string, limits: Record<string, number>): Promise<void> {
	for (const [resource, limit] of Object.entries(limits)) {
		await db
			.update(quotas)
			.set({ limit })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
	}
}

export async function quotaUsed(db: Db, tenantId: string): Promise<Record<string, number>> {
	const rows = await db.select().from(quotas).where(eq(quotas.tenantId, tenantId));
	return Object.fromEntries(rows.map((r) => [r.resource, r.used]));
}

/** What live instances actually hold: what the counters must equal. */
export async function liveUsage(db: Db, tenantId: string) {
	const [row] = await db
		.select({
			instances: sql<number>`count(*)::int`,
			vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
			memory: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
		})
		.from(instances)
		.where(and(eq(instances.tenantId, tenantId), isNull(instances.deletedAt), sql`${instances.hostId} is not null`));
	return row ?? { instances: 0, vcpus: 0, memory: 0 };
}

export async function hostUsage(db: Db, hostId: string) {
	const [row] = await db.select().from(hosts).where(eq(hosts.id, hostId));
	return row;
}
