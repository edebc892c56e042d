import { randomBytes } from "node:crypto";
import {
	createDatabase,
	type DatabaseHandle,
	flavors,
	hosts,
	instances,
	operations,
	quotas,
	simLedger,
	zones,
} from "@igoudar/db";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonCall as call } from "../support/json-call";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * Scale-out on one Postgres and one Redis: a `tenants` process issuing tokens, two `compute`
 * processes taking creates (each with its own outbox relay), and two `worker` processes, all
 * real `igoudar-server` processes of the compiled build. Parallel creates spread over both api
 * processes must respect a quota and a host's room exactly, and every accepted create must be
 * carried out exactly once although two workers (and two relays) could each take it.
 */

const OPERATOR = { id: "igc_scaleout_operator", secret: `igs_scaleout-${randomBytes(12).toString("hex")}` };
let database: TestDatabase;
let handle: DatabaseHandle;
let tokensApi: ServerProcess;
const apis: ServerProcess[] = [];
const workers: ServerProcess[] = [];
let operatorToken: string;

beforeAll(async () => {
	database = await createTestDatabase();
	handle = createDatabase({ url: database.url, poolSize: 4, applicationName: "igoudar-scale-out-test" });
	const env: NodeJS.ProcessEnv = {
		DATABASE_URL: database.url,
		IGOUDAR_REDIS_PREFIX: `{igoudar-scale-${randomBytes(4).toString("hex")}}`,
		IGOUDAR_BOOTSTRAP_CLIENT_ID: OPERATOR.id,
		IGOUDAR_BOOTSTRAP_CLIENT_SECRET: OPERATOR.secret,
		IGOUDAR_SIM_LATENCY_MS: "20",
		IGOUDAR_SIM_JITTER_MS: "20",
		IGOUDAR_WORKER_CONCURRENCY: "4",
	};
	// The first start migrates and bootstraps; the others then start side by side.
	tokensApi = await startServerProcess("tenants", env);
	const started = await Promise.all([
		startServerProcess("compute", env),
		startServerProcess("compute", env),
		startServerProcess("worker", env),
		startServerProcess("worker", env),
	]);
	apis.push(started[0] as ServerProcess, started[1] as ServerProcess);
	workers.push(started[2] as ServerProcess, started[3] as ServerProcess);
	operatorToken = await issueToken(OPERATOR.id, OPERATOR.secret);
}, 180_000);

afterAll(async () => {
	for (const process of [...apis, ...workers, tokensApi]) await process?.stop("SIGTERM");
	await handle?.close();
	await database?.drop();
});

async function issueToken(clientId: string, clientSecret: string): Promise<string> {
	const { status, body } = await call<{ access_token: string }>(tokensApi.url, "POST", "/v1/auth/token", {
		body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
	});
	expect(status).toBe(200);
	return body.access_token;
}

/** A tenant with these instance and vCPU limits, and a member's token. */
async function tenantWithQuota(instanceLimit: number): Promise<{ id: string; token: string }> {
	const tenant = await call<{ id: string }>(tokensApi.url, "POST", "/v1/tenants", {
		token: operatorToken,
		body: { name: `scale-${randomBytes(4).toString("hex")}` },
	});
	expect(tenant.status).toBe(201);
	const quota = await call(tokensApi.url, "PATCH", `/v1/tenants/${tenant.body.id}/quotas`, {
		token: operatorToken,
		body: { limits: { instances: instanceLimit, vcpus: 10_000, memory_mib: 10_000_000 } },
	});
	expect(quota.status).toBe(200);
	const account = await call<{ client_id: string; client_secret: string }>(
		tokensApi.url,
		"POST",
		`/v1/tenants/${tenant.body.id}/service-accounts`,
		{ token: operatorToken, body: { name: "scale-out", role: "member" } },
	);
	expect(account.status).toBe(201);
	return { id: tenant.body.id, token: await issueToken(account.body.client_id, account.body.client_secret) };
}

/** A zone whose hosts have these vCPUs (not overcommitted), and a 1-vCPU flavor. */
async function inventory(hostVcpus: number[]): Promise<{ zone: string; flavor: string; hostIds: string[] }> {
	const tag = randomBytes(4).toString("hex");
	const [zone] = await handle.db
		.insert(zones)
		.values({ name: `z-${tag}`, jurisdiction: "MA" })
		.returning();
	if (!zone) throw new Error("no zone");
	const made = await handle.db
		.insert(hosts)
		.values(
			hostVcpus.map((vcpus, i) => ({
				name: `h-${tag}-${i}`,
				zoneId: zone.id,
				vcpus,
				cpuAllocationRatio: 1,
				memoryMib: 1_048_576,
				diskGib: 100_000,
			})),
		)
		.returning({ id: hosts.id });
	const [flavor] = await handle.db
		.insert(flavors)
		.values({ name: `f-${tag}`, vcpus: 1, memoryMib: 512, diskGib: 10 })
		.returning();
	if (!flavor) throw new Error("no flavor");
	return { zone: zone.name, flavor: flavor.name, hostIds: made.map((host) => host.id) };
}

interface CreateAnswer {
	code?: string;
	instance?: { id: string };
	operation?: { id: string };
}

/** `count` creates at once, alternating between the two api processes. */
function parallelCreates(tenant: { id: string; token: string }, count: number, body: Record<string, unknown>) {
	return Promise.all(
		Array.from({ length: count }, (_, i) =>
			call<CreateAnswer>((apis[i % 2] as ServerProcess).url, "POST", `/v1/tenants/${tenant.id}/instances`, {
				token: tenant.token,
				body: { name: `vm-${i}`, ...body },
			}),
		),
	);
}

/** Answers counted by status and problem code, e.g. `{ "202": 8, "422 quota_exceeded": 32 }`. */
function tally(results: { status: number; body: CreateAnswer }[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const { status, body } of results) {
		const key = status === 202 ? "202" : `${status} ${body.code}`;
		out[key] = (out[key] ?? 0) + 1;
	}
	return out;
}

/**
 * Exactly `room` accepted, every other create refused for `reason`, or shed with 503 unavailable
 * when the loaded test machine kept a request waiting for a connection too long (refused before
 * anything was claimed, so it does not change what the race must leave).
 */
function expectRefusedBut(results: { status: number; body: CreateAnswer }[], room: number, reason: string): void {
	const counts = tally(results);
	expect(counts["202"]).toBe(room);
	const { "202": _accepted, [reason]: refused = 0, "503 unavailable": shed = 0, ...other } = counts;
	expect(other).toEqual({});
	expect(refused + shed).toBe(results.length - room);
	expect(refused).toBeGreaterThan(0);
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/** Waits until every operation has ended, then checks each accepted create ran exactly once. */
async function expectCarriedOutOnce(accepted: CreateAnswer[]): Promise<void> {
	const operationIds = accepted.map((answer) => answer.operation?.id ?? "");
	const instanceIds = accepted.map((answer) => answer.instance?.id ?? "");
	await until(`${operationIds.length} operations ended`, 120_000, async () => {
		const open = await handle.db
			.select({ id: operations.id })
			.from(operations)
			.where(and(inArray(operations.id, operationIds), inArray(operations.status, ["pending", "running"])));
		return open.length === 0;
	});
	const ended = await handle.db
		.select({ status: operations.status })
		.from(operations)
		.where(inArray(operations.id, operationIds));
	expect(ended.map((row) => row.status)).toEqual(operationIds.map(() => "succeeded"));
	const running = await handle.db
		.select({ id: instances.id })
		.from(instances)
		.where(and(inArray(instances.id, instanceIds), eq(instances.status, "running")));
	expect(running).toHaveLength(instanceIds.length);
	// The data plane's ledger: one machine defined and powered on per instance, nothing twice.
	const ledger = await handle.db
		.select({ instanceId: simLedger.instanceId, effect: simLedger.effect, n: sql<number>`count(*)::int` })
		.from(simLedger)
		.where(inArray(simLedger.instanceId, instanceIds))
		.groupBy(simLedger.instanceId, simLedger.effect);
	expect(ledger).toHaveLength(instanceIds.length * 2);
	for (const row of ledger) {
		expect(["create", "power_on"]).toContain(row.effect);
		expect(row.n).toBe(1);
	}
	// And exactly one worker process finished each saga.
	for (const operationId of operationIds) {
		const finishers = workers.filter((worker) =>
			worker
				.output()
				.split("\n")
				.some((line) => line.includes(operationId) && line.includes('"saga succeeded"')),
		);
		expect(finishers, `operation ${operationId}`).toHaveLength(1);
	}
}

async function quotaUsed(tenantId: string): Promise<number | undefined> {
	const [row] = await handle.db
		.select({ used: quotas.used })
		.from(quotas)
		.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, "instances")));
	return row?.used;
}

describe("two api processes and two workers on one Postgres and one Redis", () => {
	it("admit exactly the quota's room among parallel creates spread over both, and carry each out once", async () => {
		const fleet = await inventory([64, 64]);
		const tenant = await tenantWithQuota(8);
		const results = await parallelCreates(tenant, 40, { flavor: fleet.flavor, zone: fleet.zone });
		expectRefusedBut(results, 8, "422 quota_exceeded");
		// Both replicas decided on the quota (admitted or refused it): the race was between processes,
		// not within one. Which replica wins the room is up to timing, so that is not asserted.
		const decidedBy = new Set(
			results.flatMap((result, i) => (result.status === 202 || result.status === 422 ? [i % 2] : [])),
		);
		expect(decidedBy.size).toBe(2);
		await expectCarriedOutOnce(results.filter((result) => result.status === 202).map((result) => result.body));
		expect(await quotaUsed(tenant.id)).toBe(8);
	}, 180_000);

	it("admit exactly a host's room among parallel creates spread over both, and carry each out once", async () => {
		const fleet = await inventory([6]);
		const tenant = await tenantWithQuota(1_000);
		const results = await parallelCreates(tenant, 30, { flavor: fleet.flavor, zone: fleet.zone });
		expectRefusedBut(results, 6, "503 no_capacity");
		await expectCarriedOutOnce(results.filter((result) => result.status === 202).map((result) => result.body));
		const [host] = await handle.db
			.select()
			.from(hosts)
			.where(eq(hosts.id, fleet.hostIds[0] ?? ""));
		const live = await handle.db
			.select({ id: instances.id })
			.from(instances)
			.where(and(eq(instances.hostId, fleet.hostIds[0] ?? ""), isNull(instances.deletedAt)));
		expect(host?.vcpusUsed).toBe(6);
		expect(host?.instanceCount).toBe(6);
		expect(live).toHaveLength(6);
		expect(await quotaUsed(tenant.id)).toBe(6);
	}, 180_000);
});
