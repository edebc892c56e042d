import { randomBytes } from "node:crypto";
import {
	createDatabase,
	type DatabaseHandle,
	flavors,
	hosts,
	instances,
	operations,
	quotas,
	simFaults,
	zones,
} from "@igoudar/db";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { envInt } from "@igoudar/kit";
import { createIgoudarClient } from "@igoudar/sdk";
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrivateRedis, startPrivateRedis } from "../support/redis-server";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * Redis down must not mean the API down. A real `igoudar-server --target=all` (API, relay and
 * workers in one process) on its own redis-server, which is killed with SIGKILL while creates
 * and reads keep arriving, left dead for IGOUDAR_TEST_REDIS_OUTAGE_MS (the suite uses a short
 * outage; 25000 replays the original report), then restarted empty on the same port.
 *
 * Postgres holds the truth and the outbox, so throughout: every read answers within a second,
 * every write answers (202, or 503 with Retry-After) instead of hanging, and once Redis is back
 * every accepted operation ends and every counter equals a recount of what holds capacity.
 */

const OUTAGE_MS = envInt("IGOUDAR_TEST_REDIS_OUTAGE_MS", 8_000);
/** The contract: a read answers within a second, whatever Redis does. */
const READ_BOUND_MS = 1_000;
/** A request still unanswered after this is recorded as hung (and fails the test) instead of stalling it. */
const HANG_MS = 5_000;
/** High enough that this test's own traffic never meets it; the point is that counting goes on. */
const RATE_LIMIT = 100_000;
const FAILED_CREATES = 2;
const operator = { clientId: "igc_outage_operator", clientSecret: "igs_outage-operator-secret-0123456789" };

type Phase = "before" | "outage" | "after";
interface Sample {
	kind: "read" | "write";
	route: string;
	phase: Phase;
	/** 0: no answer within HANG_MS. */
	status: number;
	ms: number;
	retryAfter: string | null;
	remaining: number | null;
}

let redis: PrivateRedis;
let database: TestDatabase;
let handle: DatabaseHandle;
let server: ServerProcess;
const prefix = `igout-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
	redis = await startPrivateRedis();
	database = await createTestDatabase();
	handle = createDatabase({ url: database.url, poolSize: 3 });
	server = await startServerProcess("all", {
		DATABASE_URL: database.url,
		REDIS_URL: redis.url,
		IGOUDAR_REDIS_PREFIX: prefix,
		// Redis is the test's to kill; the server must not start a replacement of its own.
		IGOUDAR_REDIS_AUTOSTART: "false",
		IGOUDAR_BOOTSTRAP_CLIENT_ID: operator.clientId,
		IGOUDAR_BOOTSTRAP_CLIENT_SECRET: operator.clientSecret,
		IGOUDAR_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
		IGOUDAR_SIM_LATENCY_MS: "30",
		IGOUDAR_SIM_JITTER_MS: "20",
		// Jobs waiting in Redis die with it: the reconciler re-drives them from Postgres, soon.
		IGOUDAR_RECONCILE_STALE_MS: "3000",
		IGOUDAR_RECONCILE_INTERVAL_MS: "1000",
	});
}, 120_000);

afterAll(async () => {
	await server?.stop("SIGKILL");
	await redis?.stop();
	await handle?.close();
	await database?.drop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One request, timed, never retried (the SDK would retry, hiding a slow or failed answer). */
async function timed(token: string, method: string, path: string, body?: unknown) {
	const started = performance.now();
	try {
		const response = await fetch(`${server.url}${path}`, {
			method,
			headers: {
				authorization: `Bearer ${token}`,
				...(body === undefined
					? {}
					: { "content-type": "application/json", "idempotency-key": randomBytes(8).toString("hex") }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(HANG_MS),
		});
		const json = (await response.json()) as Record<string, unknown>;
		const remaining = response.headers.get("x-ratelimit-remaining");
		return {
			status: response.status,
			ms: performance.now() - started,
			json,
			retryAfter: response.headers.get("retry-after"),
			remaining: remaining === null ? null : Number(remaining),
		};
	} catch {
		return { status: 0, ms: performance.now() - started, json: {}, retryAfter: null, remaining: null };
	}
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await sleep(100);
	}
}

async function makeInventory() {
	const db = handle.db;
	const [zone] = await db.insert(zones).values({ name: "outage-1", jurisdiction: "MA" }).returning();
	if (!zone) throw new Error("no zone");
	const made = await db
		.insert(hosts)
		.values(["hv-a", "hv-b"].map((name) => ({ name, zoneId: zone.id, vcpus: 64, memoryMib: 262_144, diskGib: 8_000 })))
		.returning({ id: hosts.id });
	await db.insert(flavors).values({ name: "s1", vcpus: 1, memoryMib: 512, diskGib: 10 });
	return { hostIds: made.map((host) => host.id) };
}

/** Counters against a recount by direct SQL of the instances holding capacity (live, with a host). */
async function counterDrift(tenantId: string, hostIds: string[]) {
	const db = handle.db;
	const holding = and(isNull(instances.deletedAt), isNotNull(instances.hostId));
	const [sums] = await db
		.select({
			instances: sql<number>`count(*)::int`,
			vcpus: sql<number>`coalesce(sum(${instances.vcpus}), 0)::int`,
			memory_mib: sql<number>`coalesce(sum(${instances.memoryMib}), 0)::int`,
		})
		.from(instances)
		.where(and(eq(instances.tenantId, tenantId), holding));
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
			.where(and(eq(instances.hostId, hostId), holding));
		if (host?.vcpusUsed !== held?.vcpus || host?.instanceCount !== held?.n) {
			drift.push(`host ${hostId}: ${host?.vcpusUsed}/${host?.instanceCount} != ${held?.vcpus}/${held?.n}`);
		}
	}
	return { drift, holding: sums?.instances ?? 0, quotaUsed: stored.find((r) => r.resource === "instances")?.used };
}

describe("the API while its Redis is killed and restarted", () => {
	it("keeps answering reads within a second, never hangs a write, and ends every operation with exact counters", async () => {
		const { hostIds } = await makeInventory();
		const ops = createIgoudarClient({ baseUrl: server.url, ...operator });
		const tenant = await ops.POST("/v1/tenants", { body: { name: "outage", data_residency: ["MA"] } });
		const tenantId = tenant.data?.id ?? "";
		await ops.PATCH("/v1/tenants/{tenant_id}/quotas", {
			params: { path: { tenant_id: tenantId } },
			body: { limits: { instances: 10_000, vcpus: 10_000, memory_mib: 10_000_000 } },
		});
		const account = await ops.POST("/v1/tenants/{tenant_id}/service-accounts", {
			params: { path: { tenant_id: tenantId } },
			body: { name: "deployer", role: "member" },
		});
		const tokenRes = await fetch(`${server.url}/v1/auth/token`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				grant_type: "client_credentials",
				client_id: account.data?.client_id,
				client_secret: account.data?.client_secret,
			}),
		});
		const token = ((await tokenRes.json()) as { access_token: string }).access_token;
		const base = `/v1/tenants/${tenantId}`;

		let phase: Phase = "before";
		let running = true;
		const samples: Sample[] = [];
		const accepted: { operationId: string; instanceId: string }[] = [];
		/** Sends one request and files it under the phase it was sent in. */
		const send = async (kind: Sample["kind"], route: string, method: string, path: string, body?: unknown) => {
			const sentIn = phase;
			const res = await timed(token, method, path, body);
			samples.push({
				kind,
				route,
				phase: sentIn,
				status: res.status,
				ms: res.ms,
				retryAfter: res.retryAfter,
				remaining: res.remaining,
			});
			return res;
		};

		const reader = async (offset: number) => {
			for (let i = offset; running; i++) {
				const latest = accepted.at(-1)?.operationId;
				const route = i % 3 === 0 ? "instances" : i % 3 === 1 ? "quotas" : latest ? "operation" : "instances";
				const path =
					route === "instances"
						? `${base}/instances?limit=20`
						: route === "quotas"
							? `${base}/quotas`
							: `${base}/operations/${latest}`;
				await send("read", route, "GET", path);
				await sleep(50);
			}
		};
		let created = 0;
		const writer = async () => {
			while (running) {
				const res = await send("write", "instances", "POST", `${base}/instances`, {
					name: `vm-${created++}`,
					flavor: "s1",
				});
				const body = res.json as { operation?: { id: string }; instance?: { id: string } };
				if (res.status === 202 && body.operation && body.instance) {
					accepted.push({ operationId: body.operation.id, instanceId: body.instance.id });
				}
				await sleep(150);
			}
		};
		const traffic = Promise.all([reader(0), reader(1), writer()]);

		await sleep(1_500);
		const readyBefore = await timed(token, "GET", "/readyz");
		await redis.kill();
		phase = "outage";
		const killedAt = Date.now();
		// The data plane refuses the next FAILED_CREATES machines for good: those creates end
		// `failed`, listed but holding nothing, as one did in the original report (32 vs 33).
		await handle.db
			.insert(simFaults)
			.values({ action: "createInstance", kind: "permanent", remaining: FAILED_CREATES });
		// Readiness is a read too: it must say Redis is down, not wait for it.
		await sleep(Math.min(1_000, OUTAGE_MS / 2));
		const readyDuring = await timed(token, "GET", "/readyz");
		await sleep(Math.max(0, OUTAGE_MS - (Date.now() - killedAt)));
		await redis.restart();
		phase = "after";
		const restartedAt = Date.now();
		const readyAgain = await until("readiness to report Redis back", 10_000, async () => {
			const res = await timed(token, "GET", "/readyz");
			return res.status === 200 ? res : undefined;
		});
		await sleep(2_000);
		running = false;
		await traffic;

		// Every operation accepted, before, during or after the outage, ends: the outbox relay
		// catches up and the reconciler re-drives the jobs the empty Redis forgot.
		const operationIds = accepted.map((a) => a.operationId);
		const ended = await until("every accepted operation to end", 45_000, async () => {
			const rows = await handle.db
				.select({ id: operations.id, status: operations.status })
				.from(operations)
				.where(inArray(operations.id, operationIds));
			return rows.length === operationIds.length && rows.every((r) => r.status === "succeeded" || r.status === "failed")
				? rows
				: undefined;
		});
		const settledMs = Date.now() - restartedAt;

		// Counting went back to Redis once it answered: the restarted (empty) server holds counters again.
		const probe = new Redis(redis.url, { maxRetriesPerRequest: 1 });
		const rateKeys = await probe.keys(`${prefix}:ratelimit:*`);
		probe.disconnect();

		const { drift, holding, quotaUsed } = await counterDrift(tenantId, hostIds);
		const failed = ended.filter((r) => r.status === "failed").length;
		const listed: string[] = [];
		let pageToken: string | undefined;
		do {
			const page = await timed(
				token,
				"GET",
				`${base}/instances?limit=200${pageToken ? `&page_token=${pageToken}` : ""}`,
			);
			const body = page.json as { items: { id: string; status: string }[]; next_page_token: string | null };
			listed.push(...body.items.map((item) => item.status));
			pageToken = body.next_page_token ?? undefined;
		} while (pageToken);

		const reads = samples.filter((s) => s.kind === "read");
		const writes = samples.filter((s) => s.kind === "write");
		const of = (list: Sample[], p: Phase) => list.filter((s) => s.phase === p);
		const maxMs = (list: Sample[]) => Math.round(Math.max(0, ...list.map((s) => s.ms)));
		console.info(
			JSON.stringify({
				outage_ms: OUTAGE_MS,
				reads: {
					before: of(reads, "before").length,
					outage: of(reads, "outage").length,
					after: of(reads, "after").length,
				},
				read_max_ms: {
					before: maxMs(of(reads, "before")),
					outage: maxMs(of(reads, "outage")),
					after: maxMs(of(reads, "after")),
				},
				writes: Object.fromEntries(
					(["before", "outage", "after"] as const).map((p) => [
						p,
						{
							n: of(writes, p).length,
							accepted: of(writes, p).filter((s) => s.status === 202).length,
							max_ms: maxMs(of(writes, p)),
						},
					]),
				),
				readyz_during: { status: readyDuring.status, ms: Math.round(readyDuring.ms), redis: readyDuring.json.checks },
				operations: { accepted: accepted.length, failed, settled_ms_after_restart: settledMs },
				counters: { quota_instances: quotaUsed, holding, listed: listed.length, drift },
			}),
		);

		// The outage really was under load.
		expect(of(reads, "outage").length).toBeGreaterThan(10);
		expect(of(writes, "outage").length).toBeGreaterThan(3);
		// Reads: always answered, always within a second.
		expect(reads.filter((s) => s.status !== 200 || s.ms >= READ_BOUND_MS)).toEqual([]);
		// Writes: never hung; accepted, or refused at once with a time to come back.
		expect(writes.filter((s) => !(s.status === 202 || (s.status === 503 && s.retryAfter !== null)))).toEqual([]);
		expect(of(writes, "outage").some((s) => s.status === 202)).toBe(true);
		// Rate limits kept counting in the process while Redis could not (the remaining budget
		// went down), and counted in Redis again once it was back.
		const outageRemaining = of(reads, "outage").map((s) => s.remaining);
		expect(outageRemaining.every((r) => r !== null && r < RATE_LIMIT)).toBe(true);
		expect(new Set(outageRemaining).size).toBeGreaterThan(1);
		expect(rateKeys.length).toBeGreaterThan(0);
		// Readiness: ready, then "redis down" at once (as a read, within a second), then ready again.
		expect(readyBefore.status).toBe(200);
		expect(readyDuring.status).toBe(503);
		expect(readyDuring.ms).toBeLessThan(READ_BOUND_MS);
		expect(readyDuring.json).toMatchObject({ status: "unavailable", checks: { database: "ok" } });
		expect(String((readyDuring.json.checks as Record<string, string>).redis)).toMatch(/^down/);
		expect(readyAgain.json).toMatchObject({ status: "ready", checks: { redis: "ok" } });
		// Counters equal the recount of the instances holding capacity. The list also shows the
		// failed ones, which hold nothing: listed = holding + failed.
		expect(drift).toEqual([]);
		expect(quotaUsed).toBe(holding);
		expect(failed).toBe(FAILED_CREATES);
		expect(listed.length).toBe(holding + failed);
		expect(listed.filter((status) => status === "failed").length).toBe(failed);
		expect(await server.stop("SIGTERM")).toBe(0);
	}, 150_000);
});
