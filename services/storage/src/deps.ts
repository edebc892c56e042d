import type { Db } from "@igoudar/db";

export interface StorageDeps {
	db: Db;
	/** Called after a transaction that wrote outbox rows commits: wakes the relay. */
	afterCommit(): void;
	/** Operations a tenant may have pending or running at once (`claimOperationSlot`). */
	maxOpenOperationsPerTenant: number;
}
