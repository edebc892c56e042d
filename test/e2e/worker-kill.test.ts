import { randomBytes } from "node:crypto";
import { type Db, flavors, hosts, instances, operations, quotas, simLedger, simMachines, zones } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * The API in this process; the provisioning workers in a real `igoudar-server --target=worker`
 * process, killed with SIGKILL while sagas are half-way (no shutdown hook runs, locks and
 * connections are simply gone). A second worker process must finish every operation, and
 * afterwards each instance is either running with exactly one machine or failed with none, and
 * every counter equals what the live instances hold.
 */

const COUNT = 10;
let workerEnv: NodeJS.ProcessEnv;
const workers: ServerProcess[] = [];

const t = useTestPlatform({
	target: "all",
	hookTimeout: 60_000,
	setup: (t) => {
		t.platform.relay?.start();
		workerEnv = {
			DATABASE_URL: t.config.databaseUrl,
			REDIS_URL: t.config.redisUrl,
			IGOUDAR_REDIS_PREFIX: t.config.redisPrefix,
			// Slow enough that a kill lands mid-saga, fast enough for the suite.
			IGOUDAR_SIM_LATENCY_MS: "400",
			IGOUDAR_SIM_JITTER_MS: "100",
			IGOUDAR_WORKER_CONCURRENCY: "8",
			// A dead worker's jobs are found stalled within about a second (lock = 2 x interval)...
			IGOUDAR_STALLED_INTERVAL_MS: "500",
			// ...and whatever BullMQ gives up on is re-driven by the reconciler within a few.
			IGOUDAR_RECONCILE_STALE_MS: "3000",
			IGOUDAR_RECONCILE_INTERVAL_MS: "1000",
		};
	},
	beforeClose: async () => {
		for (const worker of workers) await worker.stop("SIGKILL");
	},
});

async function startWorker(): Promise<ServerProcess> {
	const worker = await startServerProcess("worker", workerEnv);
	workers.push(worker);
	return worker;
}

const suffix = () => randomBytes(4).toString("hex");

async function makeInventory(db: Db) {
	const [zone] = await db
		.insert(zones)
		.values({ name: `z-${suffix()}`, jurisdiction: "MA" })
		.returning();
	if (!zone) throw new Error("no zone");
	const made = await db
		.insert(hosts)
		.values(
			[1, 2].map(() => ({ name: `h-${suffix()}`, zoneId: zone.id, vcpus: 16, memoryMib: 65_536, diskGib: 1_000 })),
		)
		.returning({ id: hosts.id });
	const [flavor] = await db
		.insert(flavors)
		.values({ name: `f-${suffix()}`, vcpus: 2, memoryMib: 2048, diskGib: 20 })
		.returning();
	if (!flavor) throw new Error("no flavor");
	return { zone: zone.name, flavor: flavor.name, hostIds: made.map((host) => host.id) };
}

async function operationsOf(db: Db, ids: string[]) {
	return db
		.select({
			id: operations.id,
			status: operations.status,
			progress: operations.progress,
			attempts: operations.attempts,
			state: operations.state,
			targetId: operations.targetId,
		})
		.from(operations)
		.where(inArray(operations.id, ids));
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Every open operation in the database, whoever it belongs to. */
async function openOperations(db: Db): Promise<number> {
	const [row] = await db
		.select({ n: sql<number>`count(*)::int` })
		.from(operations)
		.where(inArray(operations.status, ["pending", "running"]));
	return row?.n ?? 0;
}

/** Counters against a recount from the live instances, by direct SQL (not the code under test). */
async function counterDrift(db: Db, tenantId: string, hostIds: string[]) {
	const live = and(isNull(instances.deletedAt), isNotNull(instances.hostId));
	const [sums] = await db
		.select({
			instances: sql<number>`count(*)::int`,
			vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
			memory_mib: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
		})
		.from(instances)
		.where(and(eq(instances.tenantId, tenantId), live));
	const stored = await db
		.select({ resource: quotas.resource, used: quotas.used })
		.from(quotas)
		.where(and(eq(quotas.tenantId, tenantId), inArray(quotas.resource, ["instances", "vcpus", "memory_mib"])));
	const drift: string[] = [];
	for (const row of stored) {
		const actual = sums?.[row.resource as "instances" | "vcpus" | "memory_mib"];
		if (row.used !== actual) drift.push(`quota ${row.resource}: ${row.used} != ${actual}`);
	}
	for (const hostId of hostIds) {
		const [host] = await db.select().from(hosts).where(eq(hosts.id, hostId));
		const [held] = await db
			.select({ vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`, n: sql<number>`count(*)::int` })
			.from(instances)
			.where(and(eq(instances.hostId, hostId), live));
		if (host?.vcpusUsed !== held?.vcpus || host?.instanceCount !== held?.n) {
			drift.push(`host ${hostId}: ${host?.vcpusUsed}/${host?.instanceCount} != ${held?.vcpus}/${held?.n}`);
		}
	}
	return { drift, live: sums };
}

async function effects(db: Db, instanceId: string): Promise<string[]> {
	const rows = await db
		.select({ effect: simLedger.effect })
		.from(simLedger)
		.where(eq(simLedger.instanceId, instanceId))
		.orderBy(simLedger.seq);
	return rows.map((row) => row.effect);
}

describe("a worker process killed mid-saga", () => {
	it("leaves no operation open and no counter wrong once another worker has taken over", async () => {
		const db = t.db;
		const inventory = await makeInventory(db);
		const tenant = await t.createTenant();
		const { token } = await t.principal(tenant.id, "member");

		const first = await startWorker();
		const created = await Promise.all(
			Array.from({ length: COUNT }, async (_, i) => {
				const res = await t.request<{ instance: { id: string }; operation: { id: string } }>(
					"POST",
					`/v1/tenants/${tenant.id}/instances`,
					{ token, body: { name: `vm-${i}`, flavor: inventory.flavor, zone: inventory.zone } },
				);
				expect(res.status, JSON.stringify(res.body)).toBe(202);
				return res.body;
			}),
		);
		const operationIds = created.map((c) => c.operation.id);

		// Kill as soon as the sagas are under way: some have a step done, most have more to do.
		const atKill = await until("sagas to be under way", 20_000, async () => {
			const rows = await operationsOf(db, operationIds);
			return rows.some((row) => row.progress > 0) ? rows : undefined;
		});
		await first.stop("SIGKILL");
		const interrupted = (await operationsOf(db, operationIds)).filter((row) => row.status !== "succeeded");
		expect(atKill.filter((row) => row.status === "running").length).toBeGreaterThan(0);
		expect(interrupted.length).toBeGreaterThan(0);

		const second = await startWorker();
		const ended = await until("every operation to end", 30_000, async () => {
			const rows = await operationsOf(db, operationIds);
			return rows.every((row) => row.status === "succeeded" || row.status === "failed") ? rows : undefined;
		});
		expect(ended).toHaveLength(COUNT);
		// The takeover really happened: operations cut off by the kill were delivered again and resumed.
		expect(ended.filter((row) => row.attempts >= 2).length).toBeGreaterThan(0);
		expect(await openOperations(db)).toBe(0);

		// Each instance is whole or gone from the data plane, never in between, never made twice.
		for (const row of ended) {
			const [instance] = await db.select().from(instances).where(eq(instances.id, row.targetId));
			const [machine] = await db.select().from(simMachines).where(eq(simMachines.instanceId, row.targetId));
			const done = await effects(db, row.targetId);
			expect(done.filter((effect) => effect === "create").length).toBeLessThanOrEqual(1);
			if (row.status === "succeeded") {
				expect(instance?.status).toBe("running");
				expect(machine?.powerState).toBe("on");
				expect(done.slice(0, 2)).toEqual(["create", "power_on"]);
			} else {
				expect(instance).toMatchObject({ status: "failed", hostId: null });
				expect(machine).toBeUndefined();
			}
		}
		const afterCreates = await counterDrift(db, tenant.id, inventory.hostIds);
		expect(afterCreates.drift).toEqual([]);
		expect(afterCreates.live?.instances).toBe(ended.filter((row) => row.status === "succeeded").length);

		// The surviving worker takes them all down again: back to nothing held, one delete each.
		const deletes = await Promise.all(
			ended
				.filter((row) => row.status === "succeeded")
				.map(async (row) => {
					const res = await t.request<{ operation: { id: string } }>(
						"DELETE",
						`/v1/tenants/${tenant.id}/instances/${row.targetId}`,
						{ token },
					);
					expect(res.status).toBe(202);
					return { instanceId: row.targetId, operationId: res.body.operation.id };
				}),
		);
		const deleted = await until("every delete to end", 30_000, async () => {
			const rows = await operationsOf(
				db,
				deletes.map((d) => d.operationId),
			);
			return rows.every((row) => row.status === "succeeded" || row.status === "failed") ? rows : undefined;
		});
		expect(deleted.map((row) => row.status)).toEqual(deleted.map(() => "succeeded"));
		const afterDeletes = await counterDrift(db, tenant.id, inventory.hostIds);
		expect(afterDeletes.drift).toEqual([]);
		expect(afterDeletes.live).toEqual({ instances: 0, vcpus: 0, memory_mib: 0 });
		for (const { instanceId } of deletes) {
			const done = await effects(db, instanceId);
			expect([done.filter((e) => e === "create").length, done.filter((e) => e === "delete").length]).toEqual([1, 1]);
		}

		// The survivor shuts down cleanly: its workers, relay and reconcilers all close on SIGTERM.
		expect(await second.stop("SIGTERM")).toBe(0);
	}, 90_000);
});
