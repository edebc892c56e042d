import {
	type ConsistencyChecker,
	type ConsistencyRepair,
	type ConsistencyReport,
	type DriftCounts,
	findConsistencyDrift,
	repairConsistencyDrift,
	systemAudit,
} from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import { PollLoop, type RedisConnectionFactory } from "@igoudar/jobs";
import type { Logger } from "pino";

/**
 * The periodic consistency check: compute's audit run on a timer by one elected worker. It
 * reports by default (a warning in the log, the `igoudar_consistency_drift` gauge); it repairs
 * only when IGOUDAR_CONSISTENCY_AUTO_REPAIR is set, because drift is a symptom of a bug or a hand
 * edit that someone should look at, and a silent correction hides it.
 */

export const AUTO_REPAIR_ENV = "IGOUDAR_CONSISTENCY_AUTO_REPAIR";

export function consistencyAutoRepairFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
	const raw = (env[AUTO_REPAIR_ENV] ?? "").trim().toLowerCase();
	if (raw === "" || raw === "false" || raw === "0") return false;
	if (raw === "true" || raw === "1") return true;
	throw new Error(`${AUTO_REPAIR_ENV} must be true or false, got ${JSON.stringify(env[AUTO_REPAIR_ENV])}`);
}

export interface ConsistencySnapshot {
	checkedAt: string;
	/** Drift found by the check, by kind: before any automatic repair, so drift that keeps coming shows. */
	counts: DriftCounts;
}

/**
 * What this process found at the check it ran last, for the metrics endpoint; null when it has
 * run none, or another process won the latest election (so only one process exports the gauge).
 */
let latest: ConsistencySnapshot | null = null;

export function latestConsistencyCheck(): ConsistencySnapshot | null {
	return latest;
}

export interface ConsistencyCheckOptions {
	logger?: Logger;
	/** Correct what is found; default false (report only). */
	repair?: boolean;
	/** The platform's checkers (compute's and storage's); default compute's alone. */
	checkers?: readonly ConsistencyChecker[];
}

export interface ConsistencyCheck {
	report: ConsistencyReport;
	/** Null when nothing was repaired: no drift, or report-only. */
	repair: ConsistencyRepair | null;
}

/** One check now: the report, logged at warn when it finds drift, and the repair when asked. */
export async function checkConsistency(db: Db, options: ConsistencyCheckOptions = {}): Promise<ConsistencyCheck> {
	const report = await findConsistencyDrift(db, options.checkers);
	latest = { checkedAt: report.checked_at, counts: report.counts };
	if (report.drifts.length === 0) return { report, repair: null };
	options.logger?.warn(
		{ counts: report.counts, drifts: report.drifts, repair: options.repair === true },
		"the counters have drifted from the live resources",
	);
	if (!options.repair) return { report, repair: null };
	const repair = await repairConsistencyDrift(db, report, systemAudit, options.checkers);
	options.logger?.warn({ counts: repair.counts, changes: repair.changes }, "repaired the drifted counters");
	return { report, repair };
}

export interface ConsistencyLoopOptions {
	db: Db;
	connection: RedisConnectionFactory;
	/** Key prefix shared by every worker of the deployment: the election is across all of them. */
	prefix: string;
	logger: Logger;
	intervalMs: number;
	autoRepair: boolean;
	checkers?: readonly ConsistencyChecker[];
}

export interface ConsistencyLoop {
	start(): void;
	/** Lets a check in progress finish, then closes the election connection. */
	stop(): Promise<void>;
}

/**
 * One check per interval across every worker process: a Redis key with a lifetime a little
 * shorter than the interval elects whoever sets it first.
 */
export function consistencyLoop(options: ConsistencyLoopOptions): ConsistencyLoop {
	const { db, logger, intervalMs, prefix } = options;
	const election = options.connection({ maxRetriesPerRequest: 1, connectionName: "igoudar-consistency-check" });
	election.on("error", (error) => logger.warn({ err: error }, "consistency check election: redis error"));
	const loop = new PollLoop(
		async () => {
			const ttl = Math.max(1, Math.floor(intervalMs * 0.9));
			const elected = await election.set(`${prefix}:consistency-check`, String(process.pid), "PX", ttl, "NX");
			if (elected === "OK") {
				await checkConsistency(db, { logger, repair: options.autoRepair, checkers: options.checkers });
			} else latest = null;
			return false;
		},
		intervalMs,
		(error) => logger.error({ err: error }, "consistency check failed"),
	);
	return {
		start: () => loop.start(),
		async stop() {
			await loop.stop();
			election.disconnect();
		},
	};
}
