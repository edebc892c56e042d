import { resolve } from "node:path";
import type { Db } from "@igoudar/db";
import { assertRetryPolicy, DEFAULT_RETRY_POLICY, type RetryPolicy } from "@igoudar/jobs";
import { envInt, envString } from "@igoudar/kit";
import type { ComputeDriver, DriverAction } from "./drivers/driver";
import { LocalStorageDriver } from "./drivers/local-storage";
import { SimulatedDriver } from "./drivers/simulated";
import { SimulatedStorageDriver } from "./drivers/simulated-storage";
import type { StorageAction, StorageDrivers } from "./drivers/storage-driver";

export interface ProvisionerSettings {
	driver: "simulated";
	/** Jobs run at once per worker process and queue. */
	concurrency: number;
	/**
	 * Jobs run at once on the compute queue: higher, because concurrent instance runs share their
	 * statements (OperationBatches, the driver's batched calls), so more at once costs less each.
	 */
	computeConcurrency: number;
	/** An operation with no progress for this long is re-driven by the reconciler. */
	staleAfterMs: number;
	reconcileIntervalMs: number;
	/** How often BullMQ looks for jobs whose worker died (and how long a job lock lasts, doubled). */
	stalledIntervalMs: number;
	/** How each saga step rides out transient faults before the operation rolls back. */
	retry: RetryPolicy;
	/** Where the `local` storage driver keeps volume files. */
	dataDir: string;
	simulated: { latencyMs: number; jitterMs: number; failureRate: number };
}

export function provisionerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ProvisionerSettings {
	const driver = envString("IGOUDAR_DRIVER", "simulated", env);
	if (driver !== "simulated") throw new Error(`IGOUDAR_DRIVER=${driver} is not available; use simulated`);
	const failureRate = Number(envString("IGOUDAR_SIM_FAILURE_RATE", "0", env));
	if (!(failureRate >= 0 && failureRate <= 1)) throw new Error("IGOUDAR_SIM_FAILURE_RATE must be between 0 and 1");
	return {
		driver,
		// A job mostly waits (on Postgres, on the data plane), so one process runs many at once; 16
		// measured 1.2-1.4x the creates/s of 8 with an instant driver, and far more with latency.
		concurrency: envInt("IGOUDAR_WORKER_CONCURRENCY", 16, env),
		// Instance runs in flight together share their statements, so their batches grow with this
		// (docs/design-notes.md, Provisioning throughput). A deployment that lowers the general
		// setting lowers this one too unless it names it.
		computeConcurrency: envInt(
			"IGOUDAR_COMPUTE_CONCURRENCY",
			env.IGOUDAR_WORKER_CONCURRENCY ? envInt("IGOUDAR_WORKER_CONCURRENCY", 16, env) : 512,
			env,
		),
		staleAfterMs: envInt("IGOUDAR_RECONCILE_STALE_MS", 60_000, env),
		reconcileIntervalMs: envInt("IGOUDAR_RECONCILE_INTERVAL_MS", 15_000, env),
		stalledIntervalMs: envInt("IGOUDAR_STALLED_INTERVAL_MS", 30_000, env),
		dataDir: envString("IGOUDAR_DATA_DIR", ".data/volumes", env),
		retry: assertRetryPolicy({
			attempts: envInt("IGOUDAR_STEP_RETRY_ATTEMPTS", DEFAULT_RETRY_POLICY.attempts, env),
			baseDelayMs: envInt("IGOUDAR_STEP_RETRY_BASE_MS", DEFAULT_RETRY_POLICY.baseDelayMs, env),
			maxDelayMs: envInt("IGOUDAR_STEP_RETRY_MAX_MS", DEFAULT_RETRY_POLICY.maxDelayMs, env),
		}),
		simulated: {
			latencyMs: envInt("IGOUDAR_SIM_LATENCY_MS", 50, env),
			jitterMs: envInt("IGOUDAR_SIM_JITTER_MS", 50, env),
			failureRate,
		},
	};
}

export function createDriver(db: Db, settings: ProvisionerSettings): ComputeDriver {
	const actions: DriverAction[] = [
		"createInstance",
		"deleteInstance",
		"startInstance",
		"stopInstance",
		"rebootInstance",
	];
	return new SimulatedDriver(db, {
		latencyMs: settings.simulated.latencyMs,
		jitterMs: settings.simulated.jitterMs,
		failureRate: Object.fromEntries(actions.map((a) => [a, settings.simulated.failureRate])),
	});
}

/** The storage drivers pools may name: `simulated`, and `local` under the data directory. */
export function createStorageDrivers(db: Db, settings: ProvisionerSettings): StorageDrivers {
	const actions: StorageAction[] = [
		"createVolume",
		"restoreVolume",
		"deleteVolume",
		"growVolume",
		"attachVolume",
		"detachVolume",
		"createSnapshot",
		"deleteSnapshot",
	];
	return {
		simulated: new SimulatedStorageDriver(db, {
			latencyMs: settings.simulated.latencyMs,
			jitterMs: settings.simulated.jitterMs,
			failureRate: Object.fromEntries(actions.map((a) => [a, settings.simulated.failureRate])),
		}),
		local: new LocalStorageDriver(db, resolve(settings.dataDir)),
	};
}
