import type { Tx } from "@igoudar/db";
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
 * The tail every storage request shares, in its transaction: the tenant's operation slot, the
 * operation with its outbox row, and the audit event. The slot is taken here, after every row
 * lock the request takes (the volume, snapshot, quota and pool rows): a transaction holding the
 * tenant's slot lock then never waits for a row lock that a transaction queued behind it holds.
 */
export async function openStorageOperation<Name extends StorageJobName>(
	ctx: Ctx,
	deps: StorageDeps,
	tx: Tx,
	input: StorageOperation<Name>,
): Promise<OperationRow> {
	await claimOperationSlot(tx, input.tenantId, deps.maxOpenOperationsPerTenant);
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
