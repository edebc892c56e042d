import type { Db, QuotaResource } from "@igoudar/db";
import { type QuotaUsageRow, readQuotaUsage, setQuotaUsed } from "../db/consistency";
import type { AuditWriter, ConsistencyChecker, QuotaChange, QuotaDrift } from "./consistency";

/**
 * The shape every quota checker of the consistency audit shares, whichever service owns the
 * resources it checks (compute's instance resources, storage's volume and snapshot ones): the
 * stored usage of each quota row against what the tenant's live resources charge, recounted, and
 * a repair that goes one tenant at a time in a short transaction that locks only that tenant's
 * rows of those resources, which every claim and release of the tenant updates.
 */

/** The action of the audit event of each unit a repair changes. */
export const REPAIR_ACTION = "system.consistency.repair";

/** Ids, each once, in order: the units a repair goes through one at a time. */
export const unique = (ids: string[]) => [...new Set(ids)].sort();

/**
 * Why a counter differs from its recount, in one sentence: counters move only with the claim or
 * release of a resource, so one that is too high lost a release and one too low missed a claim.
 */
export function counterCause(counter: string, stored: number, actual: number, heldBy: string): string {
	const difference = stored - actual;
	const direction = difference > 0 ? `${difference} higher` : `${-difference} lower`;
	const reason = difference > 0 ? "a release was lost" : "a claim was not counted";
	return `${counter} is ${direction} than ${heldBy}: ${reason}`;
}

/** What a tenant's live resources charge each quota resource, and what they are, for the causes. */
export interface QuotaTally<Resource extends QuotaResource, Held> {
	charge: Record<Resource, number>;
	held: Held;
}

export interface QuotaRecount<Resource extends QuotaResource, Held> {
	/** The quota resources the checker owns. */
	resources: readonly Resource[];
	/** What the live resources charge each tenant (only `filter.tenantId`, given one); no locks. */
	recount(db: Db, filter?: { tenantId: string }): Promise<Map<string, QuotaTally<Resource, Held>>>;
	/** What a tenant the recount does not list holds. */
	nothingHeld: Held;
	/** What a usage counter of `resource` is compared with, as a cause names it: `actual`, from `held`. */
	heldBy(resource: Resource, actual: number, held: Held): string;
}

/** Drift of each stored quota row from the recount; a tenant without rows has nothing to drift. */
function quotaDrifts<Resource extends QuotaResource, Held>(
	spec: QuotaRecount<Resource, Held>,
	rows: QuotaUsageRow[],
	charged: Map<string, QuotaTally<Resource, Held>>,
): QuotaDrift[] {
	const drifts: QuotaDrift[] = [];
	for (const row of rows) {
		const resource = row.resource as Resource;
		const live = charged.get(row.tenantId);
		const actual = live?.charge[resource] ?? 0;
		if (row.used === actual) continue;
		const heldBy = spec.heldBy(resource, actual, live?.held ?? spec.nothingHeld);
		const cause = counterCause(`the ${resource} usage counter`, row.used, actual, heldBy);
		drifts.push({ kind: "quota", tenant_id: row.tenantId, resource, stored: row.used, actual, cause });
	}
	return drifts;
}

/** The checker of the `quota` drift of `spec.resources`, recounted by `spec.recount`. */
export function quotaChecker<Resource extends QuotaResource, Held>(
	spec: QuotaRecount<Resource, Held>,
): ConsistencyChecker<QuotaDrift, QuotaChange> {
	const resources: readonly unknown[] = spec.resources;
	return {
		kind: "quota",
		// Each service reports drift of its own quota resources under the same kind, and repairs it.
		owns: (drift) => drift.kind === "quota" && resources.includes(drift.resource),
		async find(snapshot) {
			return quotaDrifts(spec, await readQuotaUsage(snapshot, spec.resources), await spec.recount(snapshot));
		},
		async repair(db, found, audit) {
			const changes: QuotaChange[] = [];
			for (const tenantId of unique(found.map((drift) => drift.tenant_id))) {
				changes.push(...(await repairTenantQuota(db, spec, tenantId, audit)));
			}
			return changes;
		},
	};
}

async function repairTenantQuota<Resource extends QuotaResource, Held>(
	db: Db,
	spec: QuotaRecount<Resource, Held>,
	tenantId: string,
	audit: AuditWriter,
): Promise<QuotaChange[]> {
	return db.transaction(async (tx) => {
		// The quota rows first: the recount that follows then sees every claim and release of the
		// tenant that got in before, and none that comes after.
		const rows = await readQuotaUsage(tx, spec.resources, { tenantId, lock: true });
		const drifts = quotaDrifts(spec, rows, await spec.recount(tx, { tenantId }));
		const changes = drifts.map(
			({ resource, stored, actual, cause }): QuotaChange => ({
				kind: "quota",
				tenant_id: tenantId,
				resource,
				from: stored,
				to: actual,
				cause,
			}),
		);
		for (const change of changes) await setQuotaUsed(tx, tenantId, change.resource, change.to);
		if (changes.length > 0) {
			await audit(tx, {
				tenantId,
				action: REPAIR_ACTION,
				targetType: "quota",
				targetId: tenantId,
				detail: { changes },
			});
		}
		return changes;
	});
}
