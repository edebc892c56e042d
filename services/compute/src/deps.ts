import type { Db } from "@igoudar/db";

export interface ComputeDeps {
	db: Db;
	/** Called after a transaction that wrote outbox rows commits: wakes the relay. */
	afterCommit(): void;
}
