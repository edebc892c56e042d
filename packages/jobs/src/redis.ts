import { type JobState, type JobsOptions, Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Logger } from "pino";
import type { JobDefinition } from "./catalog";

/**
 * Redis plumbing shared by the relay, the workers and the reconciler. Each of them asks the
 * factory for connections with the options its role needs, instead of receiving one connection
 * whose options suit nobody: workers must retry forever (`maxRetriesPerRequest: null`, which
 * BullMQ insists on for blocking commands), while producers should fail fast so the outbox keeps
 * the row and tries again later.
 */

export interface RedisConnectionOptions {
	maxRetriesPerRequest: number | null;
	/** Shown by CLIENT LIST, so an operator can tell the relay from a worker. */
	connectionName: string;
}

export type RedisConnectionFactory = (options: RedisConnectionOptions) => Redis;

export function redisConnectionFactory(url: string): RedisConnectionFactory {
	return (options) => new Redis(url, options);
}

/** Producer connections: give up on a command after one retry rather than hang the caller. */
export const PRODUCER_CONNECTION: Omit<RedisConnectionOptions, "connectionName"> = { maxRetriesPerRequest: 1 };
export const WORKER_CONNECTION: Omit<RedisConnectionOptions, "connectionName"> = { maxRetriesPerRequest: null };

/**
 * Reads `maxmemory-policy`. Anything but `noeviction` lets Redis drop job keys under memory
 * pressure, which silently loses jobs. Managed Redis often refuses CONFIG: that yields undefined.
 */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
	let reply: unknown;
	try {
		reply = await redis.config("GET", "maxmemory-policy");
	} catch {
		return undefined;
	}
	// RESP2 answers a flat [name, value] list; RESP3 answers a map.
	if (Array.isArray(reply)) return typeof reply[1] === "string" ? reply[1] : undefined;
	if (reply instanceof Map) {
		const value: unknown = reply.get("maxmemory-policy");
		return typeof value === "string" ? value : undefined;
	}
	if (reply && typeof reply === "object") {
		const value = (reply as Record<string, unknown>)["maxmemory-policy"];
		return typeof value === "string" ? value : undefined;
	}
	return undefined;
}

export async function warnUnlessNoEviction(redis: Redis, logger: Logger): Promise<string | undefined> {
	const policy = await readEvictionPolicy(redis);
	if (policy === undefined) {
		logger.warn("could not read Redis maxmemory-policy (CONFIG GET refused?); it must be noeviction");
	} else if (policy !== "noeviction") {
		logger.warn(
			{ policy },
			"Redis maxmemory-policy is not noeviction: Redis may evict queued jobs under memory pressure",
		);
	}
	return policy;
}

/**
 * BullMQ queues opened on demand, all sharing one producer connection. BullMQ does not close a
 * connection it was handed, so `close()` here closes the queues and then the connection.
 */
export class QueueSet {
	private readonly queues = new Map<string, Queue>();
	private connection: Redis | undefined;
	private readonly factory: RedisConnectionFactory;
	private readonly prefix: string;
	private readonly connectionName: string;

	constructor(options: { connection: RedisConnectionFactory; prefix: string; connectionName: string }) {
		this.factory = options.connection;
		this.prefix = options.prefix;
		this.connectionName = options.connectionName;
	}

	get(name: string): Queue {
		let queue = this.queues.get(name);
		if (!queue) {
			if (!this.connection) {
				this.connection = this.factory({ ...PRODUCER_CONNECTION, connectionName: this.connectionName });
				// Errors surface through the rejected commands; an unhandled 'error' event would crash the process.
				this.connection.on("error", () => {});
			}
			queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
			queue.on("error", () => {});
			this.queues.set(name, queue);
		}
		return queue;
	}

	async close(): Promise<void> {
		const queues = [...this.queues.values()];
		this.queues.clear();
		await Promise.allSettled(queues.map((queue) => queue.close()));
		const connection = this.connection;
		this.connection = undefined;
		if (connection) await connection.quit().catch(() => connection.disconnect());
	}
}

/** Standard BullMQ retention: completed jobs for a day, failed ones for a week (for debugging). */
export const REMOVE_ON_COMPLETE = { age: 86_400 };
export const REMOVE_ON_FAIL = { age: 604_800 };

/**
 * The options of a job as the relay, the reconciler and a batch's retries add it: its id, the
 * definition's tries and backoff (one try for a job this process does not know), the retention.
 */
export function jobOptions(jobId: string, definition: JobDefinition | undefined, delay?: number): JobsOptions {
	return {
		jobId,
		attempts: definition?.attempts ?? 1,
		backoff: definition?.backoff,
		...(delay === undefined ? {} : { delay }),
		removeOnComplete: REMOVE_ON_COMPLETE,
		removeOnFail: REMOVE_ON_FAIL,
	};
}

/** The states in which BullMQ will still run a job by itself. */
export const LIVE_JOB_STATES: ReadonlySet<JobState | "unknown"> = new Set([
	"active",
	"waiting",
	"delayed",
	"prioritized",
	"waiting-children",
]);
