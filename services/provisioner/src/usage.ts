import type { Db } from "@igoudar/db";
import { hosts, instances, quotas } from "@igoudar/db";
import { and, asc, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import type { Logger } from "pino";

/**
 * The usage reconciler. Quota and host counters are only ever moved by conditional UPDATEs in the
 * same transactions that set or clear an instance's `host_id`, so they should always equal what
 * the live instances holding capacity add up to. This checks that, reports any difference (a bug,
 * a hand edit, a restore from backup) and, unless asked only to report, corrects it.
 *
 * Exactness under concurrent traffic comes from the locks. A create claims quota rows (sorted by
 * resource), then a host, then inserts its instance, in one transaction; a release locks the
 * instance, then the quota rows, then the host. Locking a tenant's quota rows, in that same order,
 * before counting its instances means no claim or release for the tenant can be half-way when the
 * count is taken: one that started first has committed (and is counted), one that starts later
 * waits for this transaction. The same holds per host with the host row. Tenants and hosts are
 * each checked in their own short transaction, so no path ever waits on a quota row while this
 * holds a host, or the other way round.
 */

/** The quota resources an instance charges, sorted as `claimQuota` sorts them (the lock order). */
const INSTANCE_RESOURCES = ["instances", "memory_mib", "vcpus"] as const;
type InstanceResource = (typeof INSTANCE_RESOURCES)[number];

export interface QuotaDrift {
	tenantId: string;
	resource: InstanceResource;
	stored: number;
	actual: number;
}

export interface HostDrift {
	hostId: string;
	field: "vcpus_used" | "memory_mib_used" | "disk_gib_used" | "instance_count";
	stored: number;
	actual: number;
}

export interface UsageReport {
	quotas: QuotaDrift[];
	hosts: HostDrift[];
	/** False in report-only mode: the drift was found and left as it was. */
	corrected: boolean;
}

export interface ReconcileUsageOptions {
	logger?: Logger;
	/** Report only; change nothing. */
	reportOnly?: boolean;
}

// Instances hold capacity exactly while they are live and have a host.
const holdsCapacity = and(isNull(instances.deletedAt), isNotNull(instances.hostId));

export async function reconcileUsage(db: Db, options: ReconcileUsageOptions = {}): Promise<UsageReport> {
	const fix = !options.reportOnly;
	const report: UsageReport = { quotas: [], hosts: [], corrected: fix };

	// Every tenant with instance quota rows; one whose rows are missing has nothing to correct.
	const tenants = await db
		.selectDistinct({ tenantId: quotas.tenantId })
		.from(quotas)
		.where(inArray(quotas.resource, [...INSTANCE_RESOURCES]))
		.orderBy(asc(quotas.tenantId));
	for (const { tenantId } of tenants) report.quotas.push(...(await reconcileTenant(db, tenantId, fix)));

	const hostIds = await db.select({ id: hosts.id }).from(hosts).orderBy(asc(hosts.id));
	for (const { id } of hostIds) report.hosts.push(...(await reconcileHost(db, id, fix)));

	if (report.quotas.length > 0 || report.hosts.length > 0) {
		options.logger?.warn(
			{ quotas: report.quotas, hosts: report.hosts, corrected: fix },
			fix ? "usage counters had drifted from the live instances; corrected" : "usage counters drifted",
		);
	}
	return report;
}

async function reconcileTenant(db: Db, tenantId: string, fix: boolean): Promise<QuotaDrift[]> {
	return db.transaction(async (tx) => {
		// Sorted byte-wise, as the create path sorts them in JavaScript, whatever the collation.
		const stored = await tx
			.select({ resource: quotas.resource, used: quotas.used })
			.from(quotas)
			.where(and(eq(quotas.tenantId, tenantId), inArray(quotas.resource, [...INSTANCE_RESOURCES])))
			.orderBy(sql`${quotas.resource} collate "C"`)
			.for(fix ? "update" : "share");
		const [live] = await tx
			.select({
				instances: sql<number>`count(*)::int`,
				vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
				memory_mib: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
			})
			.from(instances)
			.where(and(eq(instances.tenantId, tenantId), holdsCapacity));
		const drift: QuotaDrift[] = [];
		for (const row of stored) {
			const resource = row.resource as InstanceResource;
			const actual = live?.[resource] ?? 0;
			if (row.used === actual) continue;
			drift.push({ tenantId, resource, stored: row.used, actual });
			if (fix) {
				await tx
					.update(quotas)
					.set({ used: actual, updatedAt: new Date() })
					.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
			}
		}
		return drift;
	});
}

async function reconcileHost(db: Db, hostId: string, fix: boolean): Promise<HostDrift[]> {
	return db.transaction(async (tx) => {
		const [host] = await tx
			.select({
				vcpus_used: hosts.vcpusUsed,
				memory_mib_used: hosts.memoryMibUsed,
				disk_gib_used: hosts.diskGibUsed,
				instance_count: hosts.instanceCount,
			})
			.from(hosts)
			.where(eq(hosts.id, hostId))
			.for(fix ? "update" : "share");
		if (!host) return [];
		const [live] = await tx
			.select({
				vcpus_used: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
				memory_mib_used: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
				disk_gib_used: sql<number>`coalesce(sum(${instances.diskGib}), 0)::int`,
				instance_count: sql<number>`count(*)::int`,
			})
			.from(instances)
			.where(and(eq(instances.hostId, hostId), holdsCapacity));
		const drift: HostDrift[] = [];
		for (const field of ["vcpus_used", "memory_mib_used", "disk_gib_used", "instance_count"] as const) {
			const actual = live?.[field] ?? 0;
			if (host[field] !== actual) drift.push({ hostId, field, stored: host[field], actual });
		}
		if (fix && drift.length > 0 && live) {
			await tx
				.update(hosts)
				.set({
					vcpusUsed: live.vcpus_used,
					memoryMibUsed: live.memory_mib_used,
					diskGibUsed: live.disk_gib_used,
					instanceCount: live.instance_count,
					updatedAt: new Date(),
				})
				.where(eq(hosts.id, hostId));
		}
		return drift;
	});
}
