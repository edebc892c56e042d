import type { Db } from "@igoudar/db";
import { PollLoop } from "@igoudar/jobs";
import type { Logger } from "pino";
import { scheduleEndedMonth } from "./app/invoice-runs";
import { finalizeDueInvoices } from "./app/invoices";
import type { BillingSettings } from "./settings";

export interface BillingScheduleOptions {
	db: Db;
	logger: Logger;
	settings: BillingSettings;
	intervalMs: number;
	/** Wakes the outbox relay after a run was queued. */
	afterCommit?: () => void;
}

export interface BillingSchedule {
	start(): void;
	/** Lets a pass in progress finish. */
	stop(): Promise<void>;
}

/**
 * The workers' billing timer: once a month has ended, queue its invoice run (through the outbox,
 * once across all workers), and finalize the drafts whose grace period is over. Every worker may
 * run it: the unique key on scheduled runs and the invoice locks make each effect happen once.
 */
export function billingSchedule(options: BillingScheduleOptions): BillingSchedule {
	const { db, logger, settings } = options;
	const loop = new PollLoop(
		async () => {
			const runId = await scheduleEndedMonth(db);
			if (runId) {
				logger.info({ runId }, "queued the invoice run of the month that ended");
				options.afterCommit?.();
			}
			const finalized = await finalizeDueInvoices(db, settings.invoiceGraceHours);
			if (finalized > 0) logger.info({ finalized }, "finalized draft invoices past their grace period");
			return false;
		},
		options.intervalMs,
		(error) => logger.error({ err: error }, "billing schedule pass failed"),
	);
	return { start: () => loop.start(), stop: () => loop.stop() };
}
