import type { Db } from "@igoudar/db";
import type { BillingSettings } from "./settings";

export interface BillingDeps {
	db: Db;
	/** Called after a transaction that wrote outbox rows commits: wakes the relay. */
	afterCommit(): void;
	settings: BillingSettings;
}
