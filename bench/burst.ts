/**
 * A burst of instance creates offered at a fixed rate (open loop, 5,000 at 500/s; 500 at 250/s
 * with --quick) against one `--target=all` process, the `pnpm start` shape: how many are
 * accepted, and how long each accepted one takes from the request to `running`. The simulated
 * data plane answers at once, so the time is the control plane's. The creates are spread over ten
 * tenants and the per-tenant cap on open operations is raised out of the way: the figure is
 * about throughput, not the abuse limit (the hot-tenant benchmark measures one tenant).
 */
import { operations } from "@igoudar/db";
import { inArray, sql } from "drizzle-orm";
import {
	type Benchmark,
	type BenchPlatform,
	type BenchTenant,
	createFleet,
	createTenant,
	figure,
	startPlatform,
} from "./harness";
import {
	type CreateOutcome,
	offerCreates,
	percentile,
	rows,
	treeRssMib,
	waitFor,
	ZERO_LATENCY_DRIVER,
} from "./provisioning-support";

export const BURST_ENV: NodeJS.ProcessEnv = {
	...ZERO_LATENCY_DRIVER,
	IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT: "1000000",
};

export interface BurstResult {
	offered: number;
	accepted: number;
	/** Request sent to operation succeeded, per accepted create, in seconds, sorted. */
	toRunning: number[];
	/** Request sent to its 202, per accepted create, in seconds, sorted. */
	toAnswer: number[];
	/** Accepted creates whose operation did not succeed. */
	notRunning: number;
	/** Largest resident memory of the server's process tree seen during the burst and its drain. */
	peakRssMib: number;
	refusals: Record<string, number>;
}

/** Offers the burst to `platform` (one process), waits for every accepted create to end. */
export async function runBurst(platform: BenchPlatform, count: number, perSecond: number): Promise<BurstResult> {
	const fleet = await createFleet(platform, { hosts: 20 });
	const tenants: BenchTenant[] = [];
	for (let i = 0; i < 10; i++) tenants.push(await createTenant(platform));
	const pid = platform.processes[0]?.child.pid ?? 0;
	let peakRssMib = treeRssMib(pid);
	const sampler = setInterval(() => {
		peakRssMib = Math.max(peakRssMib, treeRssMib(pid));
	}, 250);
	try {
		const outcomes = await offerCreates(platform.url, tenants, fleet, count, perSecond);
		const accepted = outcomes.filter((outcome) => outcome.status === 202 && outcome.operationId);
		const ids = accepted.map((outcome) => outcome.operationId as string);
		const db = platform.database.db;
		await waitFor(`${ids.length} accepted creates ended`, 900_000, async () => {
			const [open] = await rows<{ n: number }>(
				db,
				sql`select count(*)::int as n from ${operations} where status in ('pending', 'running')`,
			);
			return open?.n === 0;
		});
		const ended = new Map<string, number>();
		for (let from = 0; from < ids.length; from += 1000) {
			const batch = await db
				.select({ id: operations.id, status: operations.status, completedAt: operations.completedAt })
				.from(operations)
				.where(inArray(operations.id, ids.slice(from, from + 1000)));
			for (const row of batch)
				if (row.status === "succeeded" && row.completedAt) ended.set(row.id, row.completedAt.getTime());
		}
		const toRunning = accepted
			.flatMap((outcome: CreateOutcome) => {
				const done = ended.get(outcome.operationId as string);
				return done === undefined ? [] : [(done - outcome.sentAt) / 1000];
			})
			.sort((a, b) => a - b);
		const toAnswer = accepted.map((outcome) => (outcome.answeredAt - outcome.sentAt) / 1000).sort((a, b) => a - b);
		const refusals: Record<string, number> = {};
		for (const outcome of outcomes) {
			if (outcome.status !== 202) refusals[outcome.status] = (refusals[outcome.status] ?? 0) + 1;
		}
		return {
			offered: count,
			accepted: accepted.length,
			toRunning,
			toAnswer,
			notRunning: accepted.length - toRunning.length,
			peakRssMib,
			refusals,
		};
	} finally {
		clearInterval(sampler);
	}
}

export const benchmark: Benchmark = async ({ quick }) => {
	const count = quick ? 500 : 5_000;
	const perSecond = quick ? 250 : 500;
	const platform = await startPlatform({ target: "all", env: BURST_ENV });
	try {
		const burst = await runBurst(platform, count, perSecond);
		const refused = Object.entries(burst.refusals)
			.map(([status, n]) => `${n} x ${status}`)
			.join(", ");
		const p99 = burst.notRunning > 0 ? Number.POSITIVE_INFINITY : percentile(burst.toRunning, 0.99);
		const shape = `${count} creates offered at ${perSecond}/s to one --target=all process, 10 tenants`;
		return [
			figure({
				benchmark: "burst",
				metric: `accepted / offered, ${shape}`,
				ours: burst.accepted,
				unit: "creates",
				baseline: burst.offered,
				baselineName: "offered",
				goal: { ratioAtLeast: 0.8 },
				note:
					`${refused ? `refused: ${refused}` : "none refused"}; accepted ${(burst.accepted / (count / perSecond)).toFixed(0)}/s ` +
					"over the offer. Creates that arrive together commit in one transaction (group commit, docs/design-notes.md), " +
					"so one process's create ceiling is the write-path peak measured with 32 connections and more under a " +
					"deeper queue; past it a request is refused with 503 and Retry-After rather than queued without bound " +
					"(IGOUDAR_MAX_REQUESTS_IN_FLIGHT, or a database connection waited for too long)",
			}),
			figure({
				benchmark: "burst",
				metric: "p99 create request to running",
				ours: p99,
				unit: "s",
				goal: { oursAtMost: 5 },
				note:
					`p50 ${percentile(burst.toRunning, 0.5).toFixed(2)} s, max ${burst.toRunning.at(-1)?.toFixed(2)} s; ` +
					`the 202 itself took p50 ${percentile(burst.toAnswer, 0.5).toFixed(2)} s, p99 ${percentile(burst.toAnswer, 0.99).toFixed(2)} s; ` +
					`${burst.notRunning} accepted but not running. The rest is provisioning: the worker in the same process ` +
					"carries the accepted creates out on the main thread the API shares with it (alone, a worker makes the " +
					"provisioning figure)",
			}),
		];
	} finally {
		await platform.close();
	}
};
