import type { Db } from "@igoudar/db";
import {
	defineCatalog,
	defineJob,
	type JobHandler,
	type JobPayload,
	PRODUCER_CONNECTION,
	type RedisConnectionFactory,
} from "@igoudar/jobs";
import { Queue } from "bullmq";
import type { Logger } from "pino";
import { Type } from "typebox";
import { attributeDueHours } from "./app/attribution";
import type { EnergySettings } from "./settings";

/** The pass carries nothing: it reads what is due from the hours' rows. */
const AttributionPayload = Type.Object({}, { additionalProperties: false });

/**
 * One repeatable job: a pass over every site-hour whose readings changed or whose final window
 * has passed. A failed pass is simply retried; the next repetition would redo it anyway.
 */
export const energyJobs = defineCatalog({
	"energy.attribute": defineJob({
		name: "energy.attribute",
		queue: "energy",
		payload: AttributionPayload,
		attempts: 3,
		backoff: { type: "exponential", delay: 5_000 },
	}),
});

export type EnergyJobName = keyof typeof energyJobs;

export const ENERGY_SCHEDULER_ID = "energy-attribution";

/** The handler the workers run for each repetition: passes until nothing more is due. */
export function energyAttributionHandler(
	db: Db,
	settings: Pick<EnergySettings, "finalAfterHours">,
): JobHandler<JobPayload<(typeof energyJobs)["energy.attribute"]>> {
	return async (job) => {
		for (;;) {
			const pass = await attributeDueHours(db, settings, job.logger);
			if (!pass.more || job.signal?.aborted) return;
		}
	};
}

/**
 * Registers the repetition with BullMQ's job scheduler. Every worker may call it: the scheduler
 * id makes it one schedule, and upserting replaces the interval when the setting changed.
 */
export async function scheduleEnergyAttribution(options: {
	connection: RedisConnectionFactory;
	prefix: string;
	intervalMs: number;
	logger: Logger;
}): Promise<void> {
	const connection = options.connection({ ...PRODUCER_CONNECTION, connectionName: "igoudar-energy-scheduler" });
	connection.on("error", (error) => options.logger.warn({ err: error }, "energy scheduler Redis connection error"));
	const queue = new Queue(energyJobs["energy.attribute"].queue, { connection, prefix: options.prefix });
	try {
		await queue.upsertJobScheduler(
			ENERGY_SCHEDULER_ID,
			{ every: options.intervalMs },
			{
				name: "energy.attribute",
				data: {},
				opts: {
					attempts: energyJobs["energy.attribute"].attempts,
					backoff: energyJobs["energy.attribute"].backoff,
					removeOnComplete: 100,
					removeOnFail: 500,
				},
			},
		);
	} finally {
		await queue.close();
		await connection.quit().catch(() => connection.disconnect());
	}
}
