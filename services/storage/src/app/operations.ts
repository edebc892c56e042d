import type { Db, Tx } from "@igoudar/db";
import { enqueueOperation, type JobPayload, type OperationRow } from "@igoudar/jobs";
import { type Ctx, claimOperationSlot, recordAudit, withDb } from "@igoudar/kit";
import type { StorageDeps } from "../deps";
import { type StorageJobName, storageJobs } from "../jobs";

export interface StorageOperation<Name extends StorageJobName> {
	tenantId: string;
	job: Name;
	targetId: string;
	payload: JobPayload<(typeof storageJobs)[Name]>;
	/** What the audit event records besides who and which target. */
	detail?: Record<string, unknown>;
}

/**
 * The tenant's operation slot (429 past its cap of open operations), taken before any row lock
 * of the request, except the instance an attach locks first. A transaction that holds the slot
 * lock then waits only for rows of volumes, snapshots, quotas and pools, and nothing that waits
 * for the slot holds one of those: an instance create takes the slot first too (and then the
 * volumes it attaches), and the instance actions that take it last hold only their instance row,
 * which no slot holder asks for. Taken last instead, behind a volume row, it deadlocks with an
 * instance create waiting for that volume while holding the slot.
 */
export async function claimStorageSlot(db: Db, deps: StorageDeps, tenantId: string): Promise<void> {
	await claimOperationSlot(db, tenantId, deps.maxOpenOperationsPerTenant);
}

/** The tail every storage request shares, in its transaction: the operation, its outbox row, the audit event. */
export async function openStorageOperation<Name extends StorageJobName>(
	ctx: Ctx,
	tx: Tx,
	input: StorageOperation<Name>,
): Promise<OperationRow> {
	const job = storageJobs[input.job];
	const targetType = input.job.startsWith("snapshot.") ? "snapshot" : "volume";
	const operation = await enqueueOperation(tx, {
		tenantId: input.tenantId,
		kind: job.name,
		targetType,
		targetId: input.targetId,
		job,
		payload: input.payload,
	});
	await recordAudit(withDb(ctx, tx), {
		tenantId: input.tenantId,
		action: job.name,
		targetType,
		targetId: input.targetId,
		...(input.detail ? { detail: input.detail } : {}),
	});
	return operation;
}
