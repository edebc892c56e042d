import type { Db } from "@igoudar/db";
import type { ConsistencyExtension } from "./app/consistency";

export interface ComputeDeps {
	db: Db;
	/** Called after a transaction that wrote outbox rows commits: wakes the relay. */
	afterCommit(): void;
	/** Operations a tenant may have pending or running at once (`claimOperationSlot`). */
	maxOpenOperationsPerTenant: number;
	/** Checkers of the services mounted beside compute (storage), for the consistency audit's routes. */
	consistencyExtensions?: readonly ConsistencyExtension[];
}
