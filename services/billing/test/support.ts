import { randomBytes } from "node:crypto";
import type { Db } from "@igoudar/db";
import { energyAttributions, energySites, instanceEvents, instances, operations, storageEvents } from "@igoudar/db";
import { redisConnectionFactory, sagaHandler, startWorkers, type WorkerRunner } from "@igoudar/jobs";
import { silentLogger, waitFor } from "@igoudar/jobs/testing";
import { TestPlatform } from "@igoudar/server/testing";
import { eq, inArray, sql } from "drizzle-orm";
import { type BillingSettings, billingJobs, invoiceRunSaga } from "../src/index";

/**
 * Billing tests: a platform in this process on its own database and Redis prefix, optionally
 * with the billing workers (the real saga runner on BullMQ) on the same prefix. Lifecycles are
 * written straight into the event tables with chosen instants, as the triggers would write them.
 */
export class BillingHarness {
	private workers?: WorkerRunner;

	private constructor(
		readonly t: TestPlatform,
		readonly settings: BillingSettings,
	) {}

	static async start(env: NodeJS.ProcessEnv = {}): Promise<BillingHarness> {
		// Property tests make many plans and tenants a minute from one address.
		const t = await TestPlatform.start({ env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "1000000", ...env } });
		return new BillingHarness(t, t.config.billing);
	}

	get db(): Db {
		return this.t.db;
	}

	/** Runs invoice runs as a worker process would (concurrency per worker). */
	async startWorkers(concurrency = 4): Promise<void> {
		this.workers = await startWorkers({
			catalog: billingJobs,
			handlers: { "invoice.run": sagaHandler(this.db, invoiceRunSaga(this.settings)) },
			connection: redisConnectionFactory(this.t.config.redisUrl),
			prefix: this.t.config.redisPrefix,
			logger: silentLogger(),
			concurrency,
		});
	}

	async operator(): Promise<string> {
		return this.t.operatorToken();
	}

	/** A price plan made through the API; `versions` are added after it, in order. */
	async createPlan(
		body: Record<string, unknown>,
		versions: Record<string, unknown>[] = [],
	): Promise<{ id: string; versions: { id: string; effective_at: string }[] }> {
		const token = await this.operator();
		const res = await this.t.request<{ id: string; versions: { id: string; effective_at: string }[] }>(
			"POST",
			"/v1/price-plans",
			{ token, body: { name: `p-${randomBytes(5).toString("hex")}`, ...body } },
		);
		if (res.status !== 201) throw new Error(`plan create failed: ${res.status} ${JSON.stringify(res.body)}`);
		let plan = res.body;
		for (const version of versions) {
			const added = await this.t.request<typeof plan>("POST", `/v1/price-plans/${plan.id}/versions`, {
				token,
				body: version,
			});
			if (added.status !== 201) throw new Error(`version failed: ${added.status} ${JSON.stringify(added.body)}`);
			plan = added.body;
		}
		return plan;
	}

	/** A tenant assigned to the plan. */
	async tenantOnPlan(planId: string): Promise<string> {
		const tenant = await this.t.createTenant();
		const res = await this.t.request("PATCH", `/v1/tenants/${tenant.id}`, {
			token: await this.operator(),
			body: { price_plan_id: planId },
		});
		if (res.status !== 200) throw new Error(`plan assignment failed: ${res.status} ${JSON.stringify(res.body)}`);
		return tenant.id;
	}

	/** Asks for a run through the API, relays it and waits for its operation to end. */
	async runInvoices(periodStart: string, periodEnd: string): Promise<{ runId: string; operationId: string }> {
		const res = await this.t.request<{ run: { id: string }; operation: { id: string } }>("POST", "/v1/invoices/run", {
			token: await this.operator(),
			body: { period_start: periodStart, period_end: periodEnd },
		});
		if (res.status !== 202) throw new Error(`run failed: ${res.status} ${JSON.stringify(res.body)}`);
		await this.t.platform.relay?.relayAll();
		await waitForOperations(this.db, [res.body.operation.id]);
		return { runId: res.body.run.id, operationId: res.body.operation.id };
	}

	async close(): Promise<void> {
		await this.workers?.close();
		await this.t.close();
	}
}

/** Waits until every operation has ended, and says how each ended. */
export async function waitForOperations(db: Db, ids: string[], timeoutMs = 20_000): Promise<string[]> {
	return waitFor(
		async () => {
			const rows = await db.select({ status: operations.status }).from(operations).where(inArray(operations.id, ids));
			const ended = rows.filter((row) => row.status === "succeeded" || row.status === "failed");
			return ended.length === ids.length ? ended.map((row) => row.status) : undefined;
		},
		{ timeoutMs, what: "operations to end" },
	);
}

export interface TimedStatus {
	status: string;
	/** Microseconds since the epoch. */
	at: bigint;
	sizeGib?: number;
}

const instant = (micros: bigint) => sql`timestamptz 'epoch' + ${micros.toString()}::bigint * interval '1 microsecond'`;

/**
 * An instance with the given lifecycle. The row is needed for its size; the event its insert
 * makes (stamped now) is removed, so only the chosen events remain.
 */
export async function insertInstanceLifecycle(
	db: Db,
	tenantId: string,
	size: { vcpus: number; memoryMib: number },
	events: TimedStatus[],
): Promise<string> {
	const [row] = await db
		.insert(instances)
		.values({
			tenantId,
			name: `vm-${randomBytes(5).toString("hex")}`,
			status: "provisioning",
			vcpus: size.vcpus,
			memoryMib: size.memoryMib,
			diskGib: 10,
			deletedAt: new Date(),
		})
		.returning({ id: instances.id });
	if (!row) throw new Error("no instance");
	await db.delete(instanceEvents).where(eq(instanceEvents.instanceId, row.id));
	if (events.length > 0) {
		await db
			.insert(instanceEvents)
			.values(events.map((event) => ({ instanceId: row.id, tenantId, status: event.status, at: instant(event.at) })));
	}
	return row.id;
}

/** A volume or snapshot lifecycle: only its events (billing reads nothing else of it). */
export async function insertStorageLifecycle(
	db: Db,
	tenantId: string,
	type: "volume" | "snapshot",
	events: TimedStatus[],
): Promise<string> {
	const id = crypto.randomUUID();
	if (events.length > 0) {
		await db.insert(storageEvents).values(
			events.map((event) => ({
				resourceType: type,
				resourceId: id,
				tenantId,
				status: event.status,
				sizeGib: event.sizeGib ?? 1,
				at: instant(event.at),
			})),
		);
	}
	return id;
}

export interface LedgerRow {
	hour: string;
	/** Null: an operator line. */
	tenantId: string | null;
	resourceId?: string;
	wh: number;
	co2eMg?: { scope1: number; scope2Location: number; scope2Market: number; embodied: number };
	status?: "provisional" | "final";
}

/**
 * Rows of the energy ledger as the energy service writes them (billing only reads them): each
 * row's energy all dynamic for simplicity, on a site made for the call.
 */
export async function insertLedgerRows(db: Db, rows: LedgerRow[]): Promise<number[]> {
	const [site] = await db
		.insert(energySites)
		.values({ name: `site-${randomBytes(5).toString("hex")}` })
		.returning({ id: energySites.id });
	if (!site) throw new Error("no site");
	const inserted = await db
		.insert(energyAttributions)
		.values(
			rows.map((row) => ({
				siteId: site.id,
				hour: new Date(row.hour),
				line: row.tenantId ? "tenant" : "unallocated_idle",
				tenantId: row.tenantId,
				resourceType: row.tenantId ? "instance" : null,
				resourceId: row.tenantId ? (row.resourceId ?? crypto.randomUUID()) : null,
				dynamicWh: row.wh,
				idleWh: 0,
				facilityOverheadWh: 0,
				totalWh: row.wh,
				cfeWh: row.wh,
				scope1Mg: row.co2eMg?.scope1 ?? 0,
				scope2LocationMg: row.co2eMg?.scope2Location ?? 0,
				scope2MarketMg: row.co2eMg?.scope2Market ?? 0,
				embodiedMg: row.co2eMg?.embodied ?? 0,
				cfeFraction: 1,
				status: row.status ?? "provisional",
				methodologyVersion: "2026.1",
			})),
		)
		.returning({ id: energyAttributions.id });
	return inserted.map((row) => row.id);
}

export const microsOfIso = (iso: string): bigint => BigInt(new Date(iso).getTime()) * 1000n;
export const HOUR = 3_600_000_000n;
