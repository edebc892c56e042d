/**
 * The provisioning ceiling with no job queue at all: the same instance-create sagas, the same
 * simulated driver at zero latency and the same group-committed writes as the worker, run straight
 * from this process, 512 at a time, on creates accepted through the API. No BullMQ job is taken or
 * completed, so what this reaches is what the sagas' own work (their reads and writes in
 * PostgreSQL, the simulated data plane's, and the Node time around them) allows, whatever carries
 * them: a bound on any transport, one job a create or many.
 */
import type { Db } from "@igoudar/db";
import { createDatabase } from "@igoudar/db";
import { type AnySaga, type JobContext, OperationBatches, sagaHandler } from "@igoudar/jobs";
import { computeSagas, createDriver, createStorageDrivers, provisionerSettingsFromEnv } from "@igoudar/provisioner";
import { sql } from "drizzle-orm";
import { pino } from "pino";
import { cpuSecondsOfCommand } from "./harness";
import {
	createsAwaitingWorker,
	createsCarried,
	rows,
	waitForOperationsEnded,
	ZERO_LATENCY_DRIVER,
} from "./provisioning-support";

export interface CeilingRun {
	perSecond: number;
	/** CPU seconds a create: this process (the sagas) and PostgreSQL. */
	cpu: { sagas: number; postgres: number };
}

/** `count` creates accepted with no worker, then carried to `running` by sagas called directly. */
export async function sagasWithoutQueueRate(count: number, concurrency: number): Promise<CeilingRun> {
	const { platform, accepted } = await createsAwaitingWorker(count);
	const database = createDatabase({ url: platform.databaseUrl, applicationName: "igoudar-bench-sagas" });
	try {
		const runs = await rows<{ operation_id: string; payload: Record<string, unknown> }>(
			platform.database.db,
			sql`select operation_id, payload from outbox where job_name = 'instance.create' order by id`,
		);
		if (runs.length !== accepted) throw new Error(`expected ${accepted} create operations, found ${runs.length}`);
		const run = createRunner(database.db);

		const cpuBefore = process.cpuUsage();
		const postgresBefore = cpuSecondsOfCommand("postgres");
		let next = 0;
		await Promise.all(
			Array.from({ length: concurrency }, async () => {
				for (let i = next++; i < runs.length; i = next++) {
					const one = runs[i];
					if (one) await run(one.operation_id, one.payload);
				}
			}),
		);
		const spent = process.cpuUsage(cpuBefore);
		const postgres = cpuSecondsOfCommand("postgres") - postgresBefore;
		await waitForOperationsEnded(platform.database.db, 10_000);
		const carried = await createsCarried(platform.database.db, accepted);
		return {
			perSecond: carried.perSecond,
			cpu: { sagas: (spent.user + spent.system) / 1e6 / accepted, postgres: postgres / accepted },
		};
	} finally {
		await database.close();
		await platform.close();
	}
}

/** The worker's instance-create handler, as the provisioner builds it, called without a queue. */
function createRunner(db: Db): (operationId: string, payload: Record<string, unknown>) => Promise<void> {
	const settings = provisionerSettingsFromEnv({ ...process.env, ...ZERO_LATENCY_DRIVER });
	const sagas = computeSagas(createDriver(db, settings), createStorageDrivers(db, settings));
	const saga = sagas["instance.create"] as AnySaga;
	const handle = sagaHandler(db, saga, { retry: settings.retry, sagas, batches: new OperationBatches(db) });
	const logger = pino({ level: "silent" });
	return (operationId, payload) => {
		const job: JobContext<unknown> = {
			operationId,
			name: "instance.create",
			queue: "compute",
			payload,
			attemptsMade: 0,
			maxAttempts: 1_000,
			isFinalAttempt: false,
			logger,
		};
		return handle(job);
	};
}
