import { outbox } from "@igoudar/db";
import { and, inArray, isNull } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { startPrivatePostgres } from "../support/private-postgres";
import { startPrivateRedis } from "../support/redis-server";
import { Fleet, FULL, type Tenancy } from "./support/fleet";
import { checkInvariants } from "./support/invariants";
import { type FaultFigures, reportFigures } from "./support/report";
import { runWorkload, type WorkloadResult } from "./support/workload";

/**
 * The fault suite: real processes killed, real servers restarted, while tenants' traffic goes on.
 * Each scenario ends with every accepted operation ended within its bound, no driver effect lost
 * or repeated, no quota or capacity leaked (counters equal a recount, the audit finds no drift),
 * and the API answering again without a restart. `pnpm test:faults` runs it at full size and
 * writes the figures into docs/reliability.md; the suite runs a short version.
 */

const SIZE = FULL
	? { operations: 100, maxKills: 12, outageMs: 10_000, paceMs: 500 }
	: { operations: 24, maxKills: 3, outageMs: 3_000, paceMs: 900 };
/** Tenants' traffic, paced so that it spans the faults. */
const traffic = { clients: 3, paceMs: SIZE.paceMs };
/** Every operation must end within this long after the last fault (stated in docs/reliability.md). */
const RECOVERY_BOUND_MS = 90_000;
const figures: FaultFigures[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (min: number, max: number) => min + Math.random() * (max - min);

afterAll(() => {
	reportFigures(figures, FULL);
});

/**
 * The end of every scenario: each accepted operation ends within the bound after the last fault,
 * the invariants hold, the API never answered 500 (an outage is a 503 with Retry-After), and the
 * figures are kept for the report.
 */
async function conclude(
	fleet: Fleet,
	tenancy: Tenancy,
	accepted: WorkloadResult,
	figure: { scenario: string; faults: string; lastFault: number; started: number },
): Promise<void> {
	// A scenario that got no operation accepted proves nothing: say what the API answered instead.
	expect(
		accepted.operationIds.length,
		`refused: ${JSON.stringify(accepted.refused)}, errors: ${accepted.errors}`,
	).toBeGreaterThan(0);
	await fleet.settle(accepted.operationIds, RECOVERY_BOUND_MS);
	const recoverMs = Date.now() - figure.lastFault;
	const report = await checkInvariants(fleet.t, tenancy, accepted.operationIds);
	figures.push({
		scenario: figure.scenario,
		operations: accepted.operationIds.length,
		faults: figure.faults,
		recoverMs,
		totalMs: Date.now() - figure.started,
		refused: accepted.refused,
		...report,
	});
	expect(report.problems).toEqual([]);
	expect(accepted.refused[500] ?? 0).toBe(0);
	expect(accepted.errors).toBe(0);
}

describe("fault suite", () => {
	it("worker processes SIGKILLed at random points while operations run", async () => {
		const fleet = await Fleet.start({ workers: 2 });
		try {
			const tenancy = await fleet.prepare(SIZE.operations);
			const started = Date.now();
			let workloadDone = false;
			const progress = { operationIds: [] as string[] };
			const workloadIds = () => progress.operationIds;
			const workload = runWorkload(fleet.t, tenancy, SIZE.operations, { ...traffic, progress }).finally(() => {
				workloadDone = true;
			});
			let lastFault = Date.now();
			const running = async () => !workloadDone || (await fleet.openCount([...workloadIds()])) > 0;
			while (fleet.kills < SIZE.maxKills && (await running())) {
				await sleep(jitter(500, 2_000));
				await fleet.killWorker();
				lastFault = Date.now();
				await fleet.startWorker();
			}
			const accepted = await workload;
			await conclude(fleet, tenancy, accepted, {
				scenario: "worker SIGKILL at random points",
				faults: `${fleet.kills} kills`,
				lastFault,
				started,
			});
			expect(fleet.kills).toBeGreaterThan(0);
			expect(accepted.operationIds.length).toBeGreaterThanOrEqual(SIZE.operations);
		} finally {
			await fleet.close();
		}
	}, 300_000);

	it("a crash between commit and enqueue: committed operations run once a relay comes up", async () => {
		// No relay runs while the API accepts: every operation is committed with its outbox row and
		// none reached Redis, which is exactly what a process killed right after its commits leaves.
		const fleet = await Fleet.start({ workers: 0, relay: false });
		try {
			const tenancy = await fleet.prepare(SIZE.operations);
			const accepted = await runWorkload(fleet.t, tenancy, Math.ceil(SIZE.operations / 3));
			const unrelayed = await fleet.db
				.select({ id: outbox.operationId })
				.from(outbox)
				.where(and(inArray(outbox.operationId, accepted.operationIds), isNull(outbox.relayedAt)));
			expect(unrelayed).toHaveLength(accepted.operationIds.length);
			const queued = await fleet.t.redis.keys(`${fleet.t.config.redisPrefix}:compute:*`);
			expect(queued).toEqual([]);

			const recovering = Date.now();
			await fleet.startWorker();
			await conclude(fleet, tenancy, accepted, {
				scenario: "crash between commit and enqueue",
				faults: "relay down at commit",
				lastFault: recovering,
				started: recovering,
			});
		} finally {
			await fleet.close();
		}
	}, 300_000);

	it("Redis killed and restarted empty during a run", async () => {
		const redis = await startPrivateRedis();
		const fleet = await Fleet.start({ redisUrl: redis.url, workers: 1 });
		try {
			const tenancy = await fleet.prepare(SIZE.operations);
			const started = Date.now();
			const workload = runWorkload(fleet.t, tenancy, SIZE.operations, traffic);
			await sleep(jitter(1_500, 3_000));
			// Memory only: every queued and active job is lost with it.
			await redis.kill();
			await sleep(SIZE.outageMs);
			await redis.restart();
			const lastFault = Date.now();
			await conclude(fleet, tenancy, await workload, {
				scenario: "Redis SIGKILL, restarted empty",
				faults: `1 restart, ${SIZE.outageMs / 1000} s down`,
				lastFault,
				started,
			});
		} finally {
			await fleet.close();
			await redis.stop();
		}
	}, 300_000);

	it("PostgreSQL crashed and restarted during a run", async () => {
		const postgres = await startPrivatePostgres();
		const fleet = await Fleet.start({ databaseUrl: postgres.url, workers: 1 });
		try {
			const tenancy = await fleet.prepare(SIZE.operations);
			const started = Date.now();
			const workload = runWorkload(fleet.t, tenancy, SIZE.operations, traffic);
			await sleep(jitter(1_500, 3_000));
			await postgres.restart(SIZE.outageMs);
			const lastFault = Date.now();
			await conclude(fleet, tenancy, await workload, {
				scenario: "PostgreSQL immediate shutdown, restarted",
				faults: `1 restart, ${SIZE.outageMs / 1000} s down`,
				lastFault,
				started,
			});
		} finally {
			await fleet.close();
			await postgres.destroy();
		}
	}, 300_000);
});
