import { randomBytes } from "node:crypto";
import { invoices, operations } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * An invoice run whose worker process is SIGKILLed half-way through the tenants: the job is taken
 * back from the dead worker and the run resumed by another process, and in the end every tenant
 * has exactly one invoice for the month, none missing and none twice.
 */

const TENANTS = 400;
const SEPTEMBER = { start: "2026-09-01T00:00:00.000Z", end: "2026-10-01T00:00:00.000Z" };
let workerEnv: NodeJS.ProcessEnv;
const workers: ServerProcess[] = [];

const t = useTestPlatform({
	target: "all",
	hookTimeout: 60_000,
	setup: async (t) => {
		t.platform.relay?.start();
		const plan = `kill-${randomBytes(4).toString("hex")}`;
		const created = await t.request("POST", "/v1/price-plans", {
			token: await t.operatorToken(),
			body: {
				name: plan,
				rates: { vcpu_hour: "0.02", memory_gib_hour: "0.003", volume_gib_month: "0.4", snapshot_gib_month: "0.1" },
			},
		});
		expect(created.status).toBe(201);
		// Tenants and their volumes straight into the database: the run is what this test is about.
		await t.db.execute(sql`
			insert into tenants (id, name) select gen_random_uuid(), 'kill-' || g from generate_series(1, ${TENANTS}) g`);
		await t.db.execute(sql`
			insert into storage_events (resource_type, resource_id, tenant_id, status, size_gib, at)
			select 'volume', gen_random_uuid(), id, 'available', 10, timestamptz '2026-09-03T00:00:00Z'
			from tenants where name like 'kill-%'`);
		workerEnv = {
			DATABASE_URL: t.config.databaseUrl,
			REDIS_URL: t.config.redisUrl,
			IGOUDAR_REDIS_PREFIX: t.config.redisPrefix,
			// The tenants have no plan of their own: the workers invoice them under the default.
			IGOUDAR_DEFAULT_PRICE_PLAN: plan,
			IGOUDAR_STALLED_INTERVAL_MS: "500",
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

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) {
			// What the workers said is the first thing to read when a run does not end.
			const logs = workers.map((worker, index) => `worker ${index}:\n${worker.output().slice(-4000)}`).join("\n");
			throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${logs}`);
		}
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

async function septemberInvoices(): Promise<{ invoices: number; tenants: number }> {
	const [row] = await t.db
		.select({
			invoices: sql<number>`count(*)::int`,
			tenants: sql<number>`count(distinct ${invoices.tenantId})::int`,
		})
		.from(invoices)
		.where(eq(invoices.periodStart, new Date(SEPTEMBER.start)));
	return row ?? { invoices: 0, tenants: 0 };
}

describe("a worker killed mid invoice run", () => {
	it("is resumed by another worker: one invoice per tenant, none missing, none twice", async () => {
		const first = await startWorker();
		const res = await t.request<{ operation: { id: string } }>("POST", "/v1/invoices/run", {
			token: await t.operatorToken(),
			body: { period_start: SEPTEMBER.start, period_end: SEPTEMBER.end },
		});
		expect(res.status).toBe(202);
		const operationId = res.body.operation.id;

		const atKill = await until("the run to be under way", 30_000, async () => {
			const made = await septemberInvoices();
			return made.invoices > 0 ? made : undefined;
		});
		await first.stop("SIGKILL");
		const afterKill = await septemberInvoices();
		// The kill landed half-way: some tenants invoiced, others not yet.
		expect(atKill.invoices).toBeGreaterThan(0);
		expect(afterKill.invoices, "the run finished before the kill").toBeLessThan(TENANTS);

		await startWorker();
		const ended = await until("the run to end", 150_000, async () => {
			const [row] = await t.db
				.select({ status: operations.status, attempts: operations.attempts })
				.from(operations)
				.where(and(eq(operations.id, operationId)));
			return row && (row.status === "succeeded" || row.status === "failed") ? row : undefined;
		});
		expect(ended.status).toBe("succeeded");
		// Really resumed by a second run, not finished by the first.
		expect(ended.attempts).toBeGreaterThanOrEqual(2);
		expect(await septemberInvoices()).toEqual({ invoices: TENANTS, tenants: TENANTS });
		// Each the same: 10 GiB for 28 days (9.205479452 GiB-months) at 0.40, 3.68.
		const totals = await t.db
			.selectDistinct({ total: invoices.totalMicros })
			.from(invoices)
			.where(eq(invoices.periodStart, new Date(SEPTEMBER.start)));
		expect(totals).toEqual([{ total: 3_680_000n }]);
	}, 240_000);
});
