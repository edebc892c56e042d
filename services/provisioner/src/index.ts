import { computeJobs } from "@igoudar/compute";
import type { Db } from "@igoudar/db";
import { PollLoop, Reconciler, redisConnectionFactory, sagaHandler, startWorkers } from "@igoudar/jobs";
import type { Logger } from "pino";
import { createDriver, type ProvisionerSettings } from "./config";
import type { ComputeDriver } from "./drivers/driver";
import { computeSagas } from "./sagas/index";
import { reconcileUsage } from "./usage";

export { createDriver, type ProvisionerSettings, provisionerSettingsFromEnv } from "./config";
export * from "./drivers/driver";
export { SimulatedDriver, type SimulatedDriverOptions } from "./drivers/simulated";
export * from "./sagas/index";
export * from "./usage";

export interface ProvisionerOptions {
	db: Db;
	redisUrl: string;
	/** BullMQ key prefix shared with the relay. */
	prefix: string;
	logger: Logger;
	settings: ProvisionerSettings;
	/** Defaults to the driver the settings name. */
	driver?: ComputeDriver;
}

export interface Provisioner {
	readonly driver: ComputeDriver;
	/** Stops taking jobs, lets the running ones finish, then stops the reconcilers. */
	close(): Promise<void>;
}

/**
 * Starts the BullMQ workers that run every provisioning saga, the operation reconciler (which
 * re-drives operations whose worker died) and, on the same interval, the usage reconciler.
 * Any number of processes may run this at once: jobs, re-drives and recounts are each claimed
 * by one of them.
 */
export async function startProvisioner(options: ProvisionerOptions): Promise<Provisioner> {
	const { db, logger, settings, prefix } = options;
	const driver = options.driver ?? createDriver(db, settings);
	const connection = redisConnectionFactory(options.redisUrl);
	const sagas = computeSagas(driver);

	const runner = await startWorkers({
		catalog: computeJobs,
		handlers: {
			"instance.create": sagaHandler(db, sagas["instance.create"]),
			"instance.delete": sagaHandler(db, sagas["instance.delete"]),
			"instance.start": sagaHandler(db, sagas["instance.start"]),
			"instance.stop": sagaHandler(db, sagas["instance.stop"]),
			"instance.reboot": sagaHandler(db, sagas["instance.reboot"]),
		},
		connection,
		prefix,
		logger,
		concurrency: settings.concurrency,
		tuning: {
			stalledInterval: settings.stalledIntervalMs,
			// A lock outlives two stall checks, so a live worker that renews late is not taken for dead.
			lockDuration: settings.stalledIntervalMs * 2,
		},
	});

	const reconciler = new Reconciler({
		db,
		catalog: computeJobs,
		connection,
		prefix,
		logger,
		staleAfterMs: settings.staleAfterMs,
		intervalMs: settings.reconcileIntervalMs,
	});
	// One recount per interval across every worker process: a Redis key with a lifetime a little
	// shorter than the interval elects whoever sets it first.
	const election = connection({ maxRetriesPerRequest: 1, connectionName: "igoudar-usage-recount" });
	election.on("error", (error) => logger.warn({ err: error }, "usage recount election: redis error"));
	const usage = new PollLoop(
		async () => {
			const elected = await election.set(
				`${prefix}:usage-recount`,
				String(process.pid),
				"PX",
				Math.max(1, Math.floor(settings.reconcileIntervalMs * 0.9)),
				"NX",
			);
			if (elected === "OK") await reconcileUsage(db, { logger });
			return false;
		},
		settings.reconcileIntervalMs,
		(error) => logger.error({ err: error }, "usage reconciliation failed"),
	);
	reconciler.start();
	usage.start();
	logger.info({ driver: driver.name, concurrency: settings.concurrency }, "provisioner started");

	let closing: Promise<void> | undefined;
	return {
		driver,
		close() {
			// Each waits for its work in progress: the jobs running, a re-drive or a recount half-way.
			closing ??= Promise.all([runner.close(), reconciler.stop(), usage.stop()]).then(() => {
				election.disconnect();
			});
			return closing;
		},
	};
}
