import type { Db, InstanceStatus } from "@igoudar/db";
import { type AuditEntry, type Ctx, idempotentResult, recordAudit, withDb } from "@igoudar/kit";
import { type HostAllocation, inSnapshot, recordSystemAudit } from "../db/consistency";
import type { InstanceQuotaResource } from "./claims";
import { hostAllocationChecker, quotaUsageChecker, stuckInstanceChecker } from "./instance-consistency";

/**
 * The consistency audit: every counter the platform keeps (quota usage, host allocation) against
 * what the live resources add up to, and resources that nothing will move on. Counters move only
 * with the claims and releases of resources, in the same transactions, so any drift is a bug, a
 * hand edit or a partial restore; the audit reports each with its cause, and a repair sets the
 * counters back to the truth and records what it changed.
 */

export interface QuotaDrift {
	kind: "quota";
	tenant_id: string;
	resource: InstanceQuotaResource;
	stored: number;
	actual: number;
	cause: string;
}

export interface HostDrift {
	kind: "host";
	host_id: string;
	host: string;
	resource: keyof HostAllocation;
	stored: number;
	actual: number;
	cause: string;
}

export interface StuckInstanceDrift {
	kind: "stuck";
	tenant_id: string;
	instance_id: string;
	host_id: string;
	status: InstanceStatus;
	/** When the instance last changed. */
	since: string;
	last_operation: { id: string; kind: string; status: string; completed_at: string | null } | null;
	cause: string;
}

export type ConsistencyDrift = QuotaDrift | HostDrift | StuckInstanceDrift;
export type DriftKind = ConsistencyDrift["kind"];

export type QuotaChange = Omit<QuotaDrift, "stored" | "actual"> & { from: number; to: number };
export type HostChange = Omit<HostDrift, "stored" | "actual"> & { from: number; to: number };
export type StuckInstanceChange = Pick<
	StuckInstanceDrift,
	"kind" | "tenant_id" | "instance_id" | "host_id" | "cause"
> & {
	from: InstanceStatus;
	to: "failed";
};
export type ConsistencyChange = QuotaChange | HostChange | StuckInstanceChange;

/** Writes the audit event of one repaired unit in the transaction that repaired it. */
export type AuditWriter = (
	tx: Db,
	entry: AuditEntry & { targetId: string; detail: Record<string, unknown> },
) => Promise<void>;

/**
 * One kind of drift. `find` reads in the snapshot shared by every checker of a report and takes
 * no locks. `repair` is given what `find` reported and corrects it one unit at a time, each in a
 * short transaction that takes the locks the claims and releases of that unit take, recounts
 * under them, writes the correction and its audit event, and returns what it changed.
 */
export interface ConsistencyChecker<
	Drift extends ConsistencyDrift = ConsistencyDrift,
	Change extends ConsistencyChange = ConsistencyChange,
> {
	readonly kind: Drift["kind"];
	find(snapshot: Db): Promise<Drift[]>;
	repair(db: Db, found: Drift[], audit: AuditWriter): Promise<Change[]>;
}

/** Every checker, in the order a report lists them; storage adds its pools' checker here. */
export const CONSISTENCY_CHECKERS: readonly ConsistencyChecker[] = [
	quotaUsageChecker,
	hostAllocationChecker,
	stuckInstanceChecker,
];

export const DRIFT_KINDS: readonly DriftKind[] = CONSISTENCY_CHECKERS.map((checker) => checker.kind);

export type DriftCounts = Record<DriftKind, number>;

export interface ConsistencyReport {
	checked_at: string;
	drifts: ConsistencyDrift[];
	/** Drifts found, by kind; every kind is present. */
	counts: DriftCounts;
}

export interface ConsistencyRepair {
	repaired_at: string;
	changes: ConsistencyChange[];
	/** Changes made, by kind; every kind is present. */
	counts: DriftCounts;
}

function countByKind(items: { kind: DriftKind }[]): DriftCounts {
	const counts = Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, 0])) as DriftCounts;
	for (const item of items) counts[item.kind] += 1;
	return counts;
}

/** Every drift, read in one snapshot: exact while creates and deletes run, and blocking none. */
export async function findConsistencyDrift(db: Db): Promise<ConsistencyReport> {
	const drifts = await inSnapshot(db, async (snapshot) => {
		const found: ConsistencyDrift[] = [];
		for (const checker of CONSISTENCY_CHECKERS) found.push(...(await checker.find(snapshot)));
		return found;
	});
	return { checked_at: new Date().toISOString(), drifts, counts: countByKind(drifts) };
}

/**
 * Repairs what `report` found. Each unit is recounted under its locks before it is changed, so a
 * unit that healed meanwhile is left alone and the values written are those of that moment.
 * Drift that appears after the report waits for the next one.
 */
export async function repairConsistencyDrift(
	db: Db,
	report: ConsistencyReport,
	audit: AuditWriter,
): Promise<ConsistencyRepair> {
	const changes: ConsistencyChange[] = [];
	for (const checker of CONSISTENCY_CHECKERS) {
		const found = report.drifts.filter((drift) => drift.kind === checker.kind);
		if (found.length > 0) changes.push(...(await checker.repair(db, found, audit)));
	}
	return { repaired_at: new Date().toISOString(), changes, counts: countByKind(changes) };
}

/** Repairs made by the platform itself (the periodic check) are audited with the actor `system`. */
export const systemAudit: AuditWriter = (tx, entry) => recordSystemAudit(tx, entry);

export async function consistencyGet(ctx: Ctx): Promise<ConsistencyReport> {
	return findConsistencyDrift(ctx.db);
}

/**
 * The repair asked for by an operator. Each unit commits with its own audit event, so what was
 * changed is recorded even if the process dies half-way; the answer is stored for the
 * Idempotency-Key once all of it is done (a retry after a crash repairs whatever is left).
 */
export async function consistencyRepair(ctx: Ctx): Promise<ConsistencyRepair> {
	const report = await findConsistencyDrift(ctx.db);
	const repair = await repairConsistencyDrift(ctx.db, report, (tx, entry) => recordAudit(withDb(ctx, tx), entry));
	if (repair.changes.length > 0) {
		ctx.log.warn({ changes: repair.changes }, "consistency repair changed counters or settled stuck instances");
	}
	return idempotentResult(ctx, 200, repair);
}
