/**
 * Provisioning throughput: instance creates carried to `running` per second by one worker
 * process (`--target=worker`) with a zero-latency simulated driver, against the floor of the job
 * system itself: no-op BullMQ jobs per second through the same Redis, with the same concurrency.
 *
 * The creates are accepted first, with no worker running, so the worker meets a full queue and
 * the figure is its own rate, not the create path's. The rate is read from the operations' own
 * timestamps: the first run started to the last one completed.
 */
import { randomBytes } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { type Benchmark, type BenchPlatform, cpuSeconds, cpuSecondsOfCommand, figure } from "./harness";
import {
	createsAwaitingWorker,
	createsCarried,
	rows,
	waitFor,
	waitForOperationsEnded,
	ZERO_LATENCY_DRIVER,
} from "./provisioning-support";
import { sagasWithoutQueueRate } from "./saga-ceiling";

/**
 * Jobs at once on the compute queue per worker process (the provisioner's default
 * IGOUDAR_COMPUTE_CONCURRENCY), given to both the worker and the no-op baseline.
 */
const CONCURRENCY = 512;

export const benchmark: Benchmark = async ({ quick }) => {
	const count = quick ? 300 : 1_500;
	const sagas = await provisioningRate(count);
	const noop = await noopJobsRate(count, sagas.redisUrl, sagas.redisPrefix);
	const ceiling = await sagasWithoutQueueRate(count, CONCURRENCY);
	const ms = (seconds: number) => ((seconds * 1000) / count).toFixed(2);
	return [
		figure({
			benchmark: "provisioning",
			metric: `instance creates carried to running, ${count} queued, 1 worker x ${CONCURRENCY}`,
			ours: sagas.perSecond,
			unit: "ops/s",
			baseline: noop.perSecond,
			baselineName: `no-op BullMQ jobs/s, same Redis, concurrency ${CONCURRENCY}`,
			goal: { ratioAtLeast: 0.5 },
			note:
				`${sagas.note}. CPU a create, measured: the worker ${ms(sagas.cpu.worker)} ms, PostgreSQL ` +
				`${ms(sagas.cpu.postgres)} ms, Redis ${ms(sagas.cpu.redis)} ms; a no-op job: ${ms(noop.cpu.node)} ms ` +
				`in its worker, Redis ${ms(noop.cpu.redis)} ms, no PostgreSQL (docs/design-notes.md, Provisioning throughput)`,
		}),
		figure({
			benchmark: "provisioning",
			metric: `the same creates with no job queue: sagas called directly, ${CONCURRENCY} at once`,
			ours: ceiling.perSecond,
			unit: "ops/s",
			baseline: noop.perSecond,
			baselineName: "no-op BullMQ jobs/s, as above",
			note:
				"the ceiling of any transport, one job a create or many: the same sagas, driver and group-committed " +
				`writes as the worker, with no job taken or completed; CPU a create: the sagas ${(ceiling.cpu.sagas * 1000).toFixed(2)} ms, ` +
				`PostgreSQL ${(ceiling.cpu.postgres * 1000).toFixed(2)} ms. ${ceilingVerdict(sagas.perSecond, ceiling.perSecond, noop.perSecond)}`,
		}),
	];
};

/** What the ceiling says about the provisioning goal, in this run's figures. */
function ceilingVerdict(ours: number, ceiling: number, noop: number): string {
	const share = `the worker reaches ${(ours / ceiling).toFixed(2)} of it`;
	if (ceiling / noop < 0.5) {
		return (
			`Below half the no-op rate even with no queue at all, so what holds provisioning back is the sagas' own ` +
			`work (their PostgreSQL writes and the Node time around them), not the transport; ${share}`
		);
	}
	return `Above half the no-op rate with no queue; ${share}, the rest being the jobs that carry the creates`;
}

/** CPU seconds spent by each side of a run. */
interface CpuSpent {
	worker: number;
	postgres: number;
	redis: number;
}

interface ProvisioningRun {
	perSecond: number;
	redisUrl: string;
	redisPrefix: string;
	note: string;
	cpu: CpuSpent;
}

async function provisioningRate(count: number): Promise<ProvisioningRun> {
	const { platform, accepted } = await createsAwaitingWorker(count);
	try {
		const db = platform.database.db;
		await waitFor("every outbox row relayed", 120_000, async () => {
			const [row] = await rows<{ n: number }>(db, sql`select count(*)::int as n from outbox where relayed_at is null`);
			return row?.n === 0;
		});
		const commitsBefore = await committedTransactions(db);
		// The queue held while the worker starts, so its CPU is counted from its first job on, as
		// the no-op worker's is (that one runs in this process, long started).
		const connection = new Redis(platform.redisUrl, { maxRetriesPerRequest: null });
		const computeQueue = new Queue("compute", { connection, prefix: platform.redisPrefix });
		await computeQueue.pause();
		const worker = await platform.startProcess("worker", {
			...ZERO_LATENCY_DRIVER,
			IGOUDAR_COMPUTE_CONCURRENCY: String(CONCURRENCY),
		});
		await new Promise((resolve) => setTimeout(resolve, 1_000));
		const workerCpuBefore = cpuSeconds(worker.child.pid ?? 0);
		const postgresCpuBefore = cpuSecondsOfCommand("postgres");
		const redisCpuBefore = cpuSecondsOfCommand("redis-server");
		await computeQueue.resume();
		await computeQueue.close();
		connection.disconnect();
		await waitForOperationsEnded(db, 600_000);
		const workerCpu = cpuSeconds(worker.child.pid ?? 0) - workerCpuBefore;
		const postgresCpu = cpuSecondsOfCommand("postgres") - postgresCpuBefore;
		const redisCpu = cpuSecondsOfCommand("redis-server") - redisCpuBefore;
		const perCreate = (await committedTransactions(db)) - commitsBefore;
		const [carriers] = await rows<{ jobs: number }>(db, sql`select count(distinct job_id)::int as jobs from outbox`);
		const carried = await createsCarried(db, accepted);
		return {
			perSecond: carried.perSecond,
			redisUrl: platform.redisUrl,
			redisPrefix: platform.redisPrefix,
			note:
				`${accepted} creates in ${carried.seconds.toFixed(1)} s, carried by ${carriers?.jobs ?? "?"} BullMQ jobs ` +
				"(the relay sends the creates it finds together as one batch job, docs/design-notes.md); " +
				`${(perCreate / accepted).toFixed(2)} committed Postgres transactions a create, as the runs in flight ` +
				"share their statements",
			cpu: { worker: workerCpu, postgres: postgresCpu, redis: redisCpu },
		};
	} finally {
		await platform.close();
	}
}

/** Transactions committed in the benchmark's database so far (other work included, as it shares the run). */
async function committedTransactions(db: BenchPlatform["database"]["db"]): Promise<number> {
	const [row] = await rows<{ n: number }>(
		db,
		sql`select xact_commit::int8::float8 as n from pg_stat_database where datname = current_database()`,
	);
	return row?.n ?? 0;
}

/**
 * The same number of jobs through BullMQ with a processor that does nothing, and the CPU its
 * worker (this process) and Redis spent on them.
 */
async function noopJobsRate(
	count: number,
	redisUrl: string,
	prefix: string,
): Promise<{ perSecond: number; cpu: { node: number; redis: number } }> {
	const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
	const queueName = `noop-${randomBytes(3).toString("hex")}`;
	const queue = new Queue(queueName, { connection, prefix: `${prefix}-noop` });
	const options = { attempts: 15, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 604_800 } };
	for (let from = 0; from < count; from += 500) {
		const size = Math.min(500, count - from);
		await queue.addBulk(
			Array.from({ length: size }, (_, i) => ({
				name: "noop",
				data: { instance_id: `${from + i}` },
				opts: { ...options, jobId: `job-${from + i}` },
			})),
		);
	}
	let first = 0;
	let last = 0;
	let completed = 0;
	const nodeCpuBefore = process.cpuUsage();
	const redisCpuBefore = cpuSecondsOfCommand("redis-server");
	const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
	const worker = new Worker(
		queueName,
		async () => {
			first ||= performance.now();
		},
		{ connection: workerConnection, prefix: `${prefix}-noop`, concurrency: CONCURRENCY },
	);
	worker.on("completed", () => {
		completed += 1;
		last = performance.now();
	});
	try {
		await waitFor(`${count} no-op jobs completed`, 300_000, async () => completed >= count);
		const node = process.cpuUsage(nodeCpuBefore);
		return {
			perSecond: count / ((last - first) / 1000),
			cpu: { node: (node.user + node.system) / 1e6, redis: cpuSecondsOfCommand("redis-server") - redisCpuBefore },
		};
	} finally {
		await worker.close();
		await queue.obliterate({ force: true }).catch(() => undefined);
		await queue.close();
		connection.disconnect();
		workerConnection.disconnect();
	}
}
