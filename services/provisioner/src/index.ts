import {
	type BillingSettings,
	billingJobs,
	billingSchedule,
	billingSettingsFromEnv,
	invoiceRunSaga,
} from "@igoudar/billing";
import { type ConsistencyChecker, computeJobs } from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import {
	type EnergySettings,
	energyAttributionHandler,
	energyJobs,
	energySettingsFromEnv,
	scheduleEnergyAttribution,
} from "@igoudar/energy";
import {
	type AnySaga,
	catalogQueues,
	type JobHandlers,
	OperationBatches,
	Reconciler,
	redisConnectionFactory,
	type SagaRegistry,
	sagaHandler,
	startWorkers,
} from "@igoudar/jobs";
import { storageJobs } from "@igoudar/storage";
import type { Logger } from "pino";
import { createDriver, createStorageDrivers, type ProvisionerSettings } from "./config";
import { consistencyAutoRepairFromEnv, consistencyLoop } from "./consistency-loop";
import type { ComputeDriver } from "./drivers/driver";
import { LocalStorageDriver } from "./drivers/local-storage";
import type { StorageDrivers } from "./drivers/storage-driver";
import { orphanFileLoop } from "./orphan-files";
import { computeSagas, storageSagas } from "./sagas/index";

/** Every job the workers run: the catalog the relay and the reconciler use too. */
export const provisionerJobs = { ...computeJobs, ...storageJobs, ...billingJobs, ...energyJobs };

export { createDriver, createStorageDrivers, type ProvisionerSettings, provisionerSettingsFromEnv } from "./config";
export * from "./consistency-loop";
export * from "./drivers/driver";
export { LocalStorageDriver } from "./drivers/local-storage";
export { SimulatedDriver, type SimulatedDriverOptions } from "./drivers/simulated";
export { SimulatedStorageDriver } from "./drivers/simulated-storage";
export * from "./drivers/storage-driver";
export { findOrphanFiles, latestOrphanFiles, type OrphanFiles } from "./orphan-files";
export * from "./sagas/index";

export interface ProvisionerOptions {
	db: Db;
	redisUrl: string;
	/** BullMQ key prefix shared with the relay. */
	prefix: string;
	logger: Logger;
	settings: ProvisionerSettings;
	/** Defaults to the driver the settings name. */
	driver?: ComputeDriver;
	/** Defaults to `simulated` and `local` (under the settings' data directory). */
	storageDrivers?: StorageDrivers;
	/** What the periodic consistency check recounts: the platform's checkers (default compute's). */
	consistencyCheckers?: readonly ConsistencyChecker[];
	/** The default price plan and the drafts' grace period; defaults to the environment's. */
	billing?: BillingSettings;
	/** When energy hours become final and how often they are attributed; defaults to the environment's. */
	energy?: EnergySettings;
}

export interface Provisioner {
	readonly driver: ComputeDriver;
	readonly storageDrivers: StorageDrivers;
	/** Stops taking jobs, lets the running ones finish, then stops the reconcilers. */
	close(): Promise<void>;
}

/**
 * Starts the BullMQ workers that run every provisioning saga, the operation reconciler (which
 * re-drives operations whose worker died) and, on the same interval, the consistency audit (by one
 * elected worker) and the check of this worker's local volume files against the database.
 * Any number of processes may run this at once: jobs, re-drives and recounts are each claimed
 * by one of them.
 */
export async function startProvisioner(options: ProvisionerOptions): Promise<Provisioner> {
	const { db, logger, settings, prefix } = options;
	const driver = options.driver ?? createDriver(db, settings);
	const connection = redisConnectionFactory(options.redisUrl);
	const storageDrivers = options.storageDrivers ?? createStorageDrivers(db, settings);
	const billing = options.billing ?? billingSettingsFromEnv(process.env);
	const energy = options.energy ?? energySettingsFromEnv(process.env);
	const sagas: SagaRegistry = {
		...computeSagas(driver, storageDrivers),
		...storageSagas(storageDrivers),
		"invoice.run": invoiceRunSaga(billing) as unknown as AnySaga,
	};
	// Every saga can find every other by operation kind: a delete settles the create it cancelled.
	// Batches: the runs in flight in this process share their writes to `operations`.
	const run = { retry: settings.retry, sagas, batches: new OperationBatches(db) };
	const handlers = {
		...Object.fromEntries(
			Object.keys(sagas)
				.filter((name) => name in provisionerJobs)
				.map((name) => [name, sagaHandler(db, sagas[name] as AnySaga, run)]),
		),
		// Not a saga: a repeatable pass that settles the energy hours with work to do.
		"energy.attribute": energyAttributionHandler(db, energy),
	} as JobHandlers<typeof provisionerJobs>;

	const runner = await startWorkers({
		catalog: provisionerJobs,
		handlers,
		connection,
		prefix,
		logger,
		concurrency: Object.fromEntries(
			catalogQueues(provisionerJobs).map((queue) => [
				queue,
				queue === "compute" ? settings.computeConcurrency : settings.concurrency,
			]),
		),
		tuning: {
			stalledInterval: settings.stalledIntervalMs,
			// A lock outlives two stall checks, so a live worker that renews late is not taken for dead.
			lockDuration: settings.stalledIntervalMs * 2,
		},
	});

	const reconciler = new Reconciler({
		db,
		catalog: provisionerJobs,
		connection,
		prefix,
		logger,
		staleAfterMs: settings.staleAfterMs,
		intervalMs: settings.reconcileIntervalMs,
	});
	// Compute's consistency audit on the reconcilers' interval, by one elected worker at a time.
	const consistency = consistencyLoop({
		db,
		connection,
		prefix,
		logger,
		intervalMs: settings.reconcileIntervalMs,
		autoRepair: consistencyAutoRepairFromEnv(process.env),
		checkers: options.consistencyCheckers,
	});
	const local = storageDrivers.local;
	const orphans =
		local instanceof LocalStorageDriver ? orphanFileLoop(db, local, logger, settings.reconcileIntervalMs) : undefined;
	// Queues each ended month's invoice run and finalizes drafts past their grace period.
	const invoicing = billingSchedule({ db, logger, settings: billing, intervalMs: settings.reconcileIntervalMs });
	// One schedule across all workers (its id makes the upsert idempotent).
	await scheduleEnergyAttribution({ connection, prefix, intervalMs: energy.attributionIntervalMs, logger });
	reconciler.start();
	consistency.start();
	invoicing.start();
	orphans?.start();
	logger.info(
		{ driver: driver.name, concurrency: settings.concurrency, computeConcurrency: settings.computeConcurrency },
		"provisioner started",
	);

	let closing: Promise<void> | undefined;
	return {
		driver,
		storageDrivers,
		close() {
			// Each waits for its work in progress: the jobs running, a re-drive or a recount half-way.
			closing ??= Promise.all([
				runner.close(),
				reconciler.stop(),
				consistency.stop(),
				invoicing.stop(),
				orphans?.stop(),
			]).then(() => undefined);
			return closing;
		},
	};
}
