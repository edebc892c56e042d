import { randomBytes } from "node:crypto";
import { type Db, flavors, hosts, operations, quotas, storagePools, zones } from "@igoudar/db";
import { TestPlatform } from "@igoudar/server/testing";
import { eq, inArray, sql } from "drizzle-orm";
import { type ServerProcess, startServerProcess } from "../../support/server-process";

/**
 * The control plane under fault: the API (tenants and compute) in this process and the
 * provisioning workers in real `igoudar-server --target=worker` processes, on the database and
 * Redis the scenario chooses (a private cluster or redis-server it can crash). A workload of
 * creates and lifecycle actions runs against the API while the scenario breaks things.
 */

/** `pnpm test:faults` runs every scenario at full size; the suite runs a short version. */
export const FULL = process.env.IGOUDAR_FAULTS === "full";

export interface FleetOptions {
	databaseUrl?: string;
	redisUrl?: string;
	/** Worker processes kept running. */
	workers?: number;
	/** Start the in-process relay (off: committed operations wait for a worker process's relay). */
	relay?: boolean;
}

/** Timings that make a fault visible within seconds: stalls found in ~1 s, re-drives in ~3 s. */
export const FAST_RECOVERY: NodeJS.ProcessEnv = {
	IGOUDAR_SIM_LATENCY_MS: "150",
	IGOUDAR_SIM_JITTER_MS: "150",
	IGOUDAR_WORKER_CONCURRENCY: "8",
	IGOUDAR_STALLED_INTERVAL_MS: "500",
	IGOUDAR_RECONCILE_STALE_MS: "3000",
	IGOUDAR_RECONCILE_INTERVAL_MS: "1000",
	IGOUDAR_STEP_RETRY_BASE_MS: "200",
	IGOUDAR_STEP_RETRY_MAX_MS: "2000",
	IGOUDAR_STEP_RETRY_ATTEMPTS: "40",
};

const suffix = () => randomBytes(4).toString("hex");

export class Fleet {
	readonly workers: ServerProcess[] = [];
	kills = 0;
	private constructor(
		readonly t: TestPlatform,
		private readonly workerEnv: NodeJS.ProcessEnv,
	) {}

	static async start(options: FleetOptions & { workerEnv?: NodeJS.ProcessEnv } = {}): Promise<Fleet> {
		const t = await TestPlatform.start({
			target: "all",
			databaseUrl: options.databaseUrl,
			env: options.redisUrl ? { REDIS_URL: options.redisUrl } : {},
		});
		if (options.relay !== false) t.platform.relay?.start();
		const fleet = new Fleet(t, {
			DATABASE_URL: t.config.databaseUrl,
			REDIS_URL: t.config.redisUrl,
			IGOUDAR_REDIS_PREFIX: t.config.redisPrefix,
			...FAST_RECOVERY,
			...options.workerEnv,
		});
		try {
			await Promise.all(Array.from({ length: options.workers ?? 1 }, () => fleet.startWorker()));
		} catch (error) {
			await fleet.close();
			throw error;
		}
		return fleet;
	}

	get db(): Db {
		return this.t.db;
	}

	async startWorker(): Promise<ServerProcess> {
		const worker = await startServerProcess("worker", this.workerEnv);
		this.workers.push(worker);
		return worker;
	}

	/** SIGKILLs one worker process (at random): no shutdown hook, its locks and connections just go. */
	async killWorker(): Promise<void> {
		const index = Math.floor(Math.random() * this.workers.length);
		const [victim] = this.workers.splice(index, 1);
		if (!victim) return;
		await victim.stop("SIGKILL");
		this.kills += 1;
	}

	async close(): Promise<void> {
		await Promise.all(this.workers.splice(0).map((worker) => worker.stop("SIGKILL")));
		await this.t.close();
	}

	/** A tenant with room for the whole workload, and a zone of hosts and a storage pool with room for it too. */
	async prepare(instances: number): Promise<Tenancy> {
		const db = this.db;
		const [zone] = await db
			.insert(zones)
			.values({ name: `z-${suffix()}`, jurisdiction: "MA" })
			.returning();
		if (!zone) throw new Error("no zone");
		const hostRows = await db
			.insert(hosts)
			.values(
				Array.from({ length: 4 }, () => ({
					name: `h-${suffix()}`,
					zoneId: zone.id,
					vcpus: 64,
					memoryMib: 262_144,
					diskGib: 8_000,
				})),
			)
			.returning({ id: hosts.id });
		const [flavor] = await db
			.insert(flavors)
			.values({ name: `f-${suffix()}`, vcpus: 1, memoryMib: 1024, diskGib: 10 })
			.returning();
		if (!flavor) throw new Error("no flavor");
		await db.insert(storagePools).values({
			name: `p-${suffix()}`,
			zoneId: zone.id,
			storageClass: "ssd",
			driver: "simulated",
			capacityGib: 100_000,
		});
		const tenant = await this.t.createTenant();
		await db
			.update(quotas)
			.set({ limit: Math.max(instances, 1) * 4_096 })
			.where(eq(quotas.tenantId, tenant.id));
		const { token } = await this.t.principal(tenant.id, "member");
		return { tenantId: tenant.id, token, zone: zone.name, flavor: flavor.name, hostIds: hostRows.map((h) => h.id) };
	}

	/** How many of these operations are still open. */
	async openCount(ids: readonly string[]): Promise<number> {
		if (ids.length === 0) return 0;
		const [row] = await this.db
			.select({ n: sql<number>`count(*)::int` })
			.from(operations)
			.where(sql`${inArray(operations.id, [...ids])} and ${operations.status} in ('pending', 'running')`);
		return row?.n ?? 0;
	}

	/** Waits until every operation has ended; returns how long that took. */
	async settle(ids: readonly string[], timeoutMs: number): Promise<number> {
		const started = Date.now();
		for (;;) {
			let open: number;
			try {
				open = await this.openCount(ids);
			} catch {
				// The database may still be coming back.
				open = Number.POSITIVE_INFINITY;
			}
			if (open === 0) return Date.now() - started;
			if (Date.now() - started > timeoutMs) {
				// What the workers last complained about is the first thing to read when this fails.
				const complaints = this.workers
					.flatMap((worker) => worker.output().split("\n"))
					.filter((line) => /"level":(40|50|60)/.test(line))
					.slice(-15)
					.join("\n");
				throw new Error(`${open} of ${ids.length} operations still open after ${timeoutMs} ms\n${complaints}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}
}

export interface Tenancy {
	tenantId: string;
	token: string;
	zone: string;
	flavor: string;
	hostIds: string[];
}
