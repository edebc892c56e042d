import type { Db, InstanceStatus, QuotaResource } from "@igoudar/db";
import { type AuditEntry, type Ctx, idempotentResult, recordAudit, withDb } from "@igoudar/kit";
import type { TSchema } from "typebox";
import { type HostAllocation, inSnapshot, recordSystemAudit } from "../db/consistency";
import { hostAllocationChecker, quotaUsageChecker, stuckInstanceChecker } from "./instance-consistency";

/**
 * The consistency audit: every counter the platform keeps (quota usage, host allocation) against
 * what the live resources add up to, and resources that nothing will move on. Counters move only
 * with the claims and releases of resources, in the same transactions, so any drift is a bug, a
 * hand edit or a partial restore; the audit reports each with its cause, and a repair sets the
 * counters back to the truth and records what it changed. Compute checks what instances hold;
 * services mounted beside it (storage) add checkers of their own through a `ConsistencyExtension`.
 */

/**
 * What every drift and every change has, whichever checker reports it, and fields of its own.
 * Drifts and changes are type aliases rather than interfaces so that each fits this shape.
 */
export type DriftEntry = {
	kind: string;
	cause: string;
	[field: string]: unknown;
};

export type QuotaDrift = {
	kind: "quota";
	tenant_id: string;
	/** Compute's checker reports the instance resources; storage's, the volume and snapshot ones. */
	resource: QuotaResource;
	stored: number;
	actual: number;
	cause: string;
};

export type HostDrift = {
	kind: "host";
	host_id: string;
	host: string;
	resource: keyof HostAllocation;
	stored: number;
	actual: number;
	cause: string;
};

export type StuckInstanceDrift = {
	kind: "stuck";
	tenant_id: string;
	instance_id: string;
	host_id: string;
	status: InstanceStatus;
	/** When the instance last changed. */
	since: string;
	last_operation: { id: string; kind: string; status: string; completed_at: string | null } | null;
	cause: string;
};

/** The drifts compute's own checkers report. */
export type ConsistencyDrift = QuotaDrift | HostDrift | StuckInstanceDrift;
/** A kind of drift: compute's `quota`, `host` and `stuck`, and those extensions add. */
export type DriftKind = string;

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
export interface ConsistencyChecker<Drift extends DriftEntry = DriftEntry, Change extends DriftEntry = DriftEntry> {
	readonly kind: Drift["kind"];
	/**
	 * Whether a drift of a report is this checker's to repair; by default every drift of its kind.
	 * Checkers sharing a kind split it here (`quota`: compute's resources and storage's).
	 */
	owns?(drift: DriftEntry): boolean;
	find(snapshot: Db): Promise<Drift[]>;
	repair(db: Db, found: Drift[], audit: AuditWriter): Promise<Change[]>;
}

/**
 * Checkers another service adds to the audit, with the TypeBox schemas (each with a `$id`) of the
 * drifts and changes they report, which the audit's responses list beside compute's own.
 */
export interface ConsistencyExtension {
	checkers: readonly ConsistencyChecker[];
	driftSchemas: readonly TSchema[];
	changeSchemas: readonly TSchema[];
}

/** Compute's own checkers, in the order a report lists them. */
export const CONSISTENCY_CHECKERS: readonly ConsistencyChecker[] = [
	quotaUsageChecker,
	hostAllocationChecker,
	stuckInstanceChecker,
];

/** Compute's checkers followed by those of the extensions: the audit of a whole platform. */
export function consistencyCheckers(extensions: readonly ConsistencyExtension[] = []): readonly ConsistencyChecker[] {
	return [...CONSISTENCY_CHECKERS, ...extensions.flatMap((extension) => extension.checkers)];
}

/** The kinds a list of checkers reports, each once, in order. */
export function driftKinds(checkers: readonly ConsistencyChecker[]): readonly DriftKind[] {
	return [...new Set(checkers.map((checker) => checker.kind))];
}

export const DRIFT_KINDS: readonly DriftKind[] = driftKinds(CONSISTENCY_CHECKERS);

export type DriftCounts = Record<DriftKind, number>;

export interface ConsistencyReport {
	checked_at: string;
	drifts: DriftEntry[];
	/** Drifts found, by kind; every kind is present. */
	counts: DriftCounts;
}

export interface ConsistencyRepair {
	repaired_at: string;
	changes: DriftEntry[];
	/** Changes made, by kind; every kind is present. */
	counts: DriftCounts;
}

function countByKind(items: DriftEntry[], checkers: readonly ConsistencyChecker[]): DriftCounts {
	const counts: DriftCounts = Object.fromEntries(driftKinds(checkers).map((kind) => [kind, 0]));
	for (const item of items) counts[item.kind] = (counts[item.kind] ?? 0) + 1;
	return counts;
}

const owns = (checker: ConsistencyChecker, drift: DriftEntry) =>
	checker.owns ? checker.owns(drift) : drift.kind === checker.kind;

/** Every drift, read in one snapshot: exact while creates and deletes run, and blocking none. */
export async function findConsistencyDrift(
	db: Db,
	checkers: readonly ConsistencyChecker[] = CONSISTENCY_CHECKERS,
): Promise<ConsistencyReport> {
	const drifts = await inSnapshot(db, async (snapshot) => {
		const found: DriftEntry[] = [];
		for (const checker of checkers) found.push(...(await checker.find(snapshot)));
		return found;
	});
	return { checked_at: new Date().toISOString(), drifts, counts: countByKind(drifts, checkers) };
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
	checkers: readonly ConsistencyChecker[] = CONSISTENCY_CHECKERS,
): Promise<ConsistencyRepair> {
	const changes: DriftEntry[] = [];
	for (const checker of checkers) {
		const found = report.drifts.filter((drift) => owns(checker, drift));
		if (found.length > 0) changes.push(...(await checker.repair(db, found, audit)));
	}
	return { repaired_at: new Date().toISOString(), changes, counts: countByKind(changes, checkers) };
}

/** Repairs made by the platform itself (the periodic check) are audited with the actor `system`. */
export const systemAudit: AuditWriter = (tx, entry) => recordSystemAudit(tx, entry);

export async function consistencyGet(ctx: Ctx, checkers: readonly ConsistencyChecker[]): Promise<ConsistencyReport> {
	return findConsistencyDrift(ctx.db, checkers);
}

/**
 * The repair asked for by an operator. Each unit commits with its own audit event, so what was
 * changed is recorded even if the process dies half-way; the answer is stored for the
 * Idempotency-Key once all of it is done (a retry after a crash repairs whatever is left), with
 * one more event for the request itself, so a repair that found nothing is on record too.
 */
export async function consistencyRepair(ctx: Ctx, checkers: readonly ConsistencyChecker[]): Promise<ConsistencyRepair> {
	const report = await findConsistencyDrift(ctx.db, checkers);
	const audit: AuditWriter = (tx, entry) => recordAudit(withDb(ctx, tx), entry);
	const repair = await repairConsistencyDrift(ctx.db, report, audit, checkers);
	if (repair.changes.length > 0) {
		ctx.log.warn({ changes: repair.changes }, "consistency repair changed counters or settled stuck instances");
	}
	return ctx.db.transaction(async (tx) => {
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "system.consistency.repair_request",
			targetType: "system",
			detail: { counts: repair.counts },
		});
		return idempotentResult(withDb(ctx, tx), 200, repair);
	});
}
