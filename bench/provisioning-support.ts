/**
 * What the provisioning, burst, memory and api-replica benchmarks share: a worker whose simulated
 * data plane answers at once, creates sent through the API with their outcome and time, and the
 * wait for a condition read from the database.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Db } from "@igoudar/db";
import { operations } from "@igoudar/db";
import { type SQL, sql } from "drizzle-orm";
import type { BenchFleet, BenchPlatform, BenchTenant } from "./harness";
import { createFleet, createTenant, instanceBody, startPlatform } from "./harness";

/** The simulated driver with no latency and no faults: what is measured is the control plane. */
export const ZERO_LATENCY_DRIVER: NodeJS.ProcessEnv = {
	IGOUDAR_SIM_LATENCY_MS: "0",
	IGOUDAR_SIM_JITTER_MS: "0",
	IGOUDAR_SIM_FAILURE_RATE: "0",
};

export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
}

/**
 * A platform with `count` instance creates accepted and no worker: tokens and tenants from a
 * `tenants` process, the creates through a `compute` process (whose relay queues the jobs).
 * The caller closes the platform.
 */
export async function createsAwaitingWorker(count: number): Promise<{ platform: BenchPlatform; accepted: number }> {
	const platform = await startPlatform({ target: "tenants", env: ZERO_LATENCY_DRIVER });
	try {
		const compute = await platform.startProcess("compute");
		const fleet = await createFleet({ ...platform, url: compute.url }, { hosts: 20 });
		const tenant = await createTenant(platform);
		return { platform, accepted: await acceptCreates(compute.url, tenant, fleet, count, 16) };
	} catch (error) {
		await platform.close();
		throw error;
	}
}

/** Waits until no operation is pending or running. */
export async function waitForOperationsEnded(db: Db, timeoutMs: number): Promise<void> {
	await waitFor("every operation ended", timeoutMs, async () => {
		const [open] = await rows<{ n: number }>(
			db,
			sql`select count(*)::int as n from ${operations} where status in ('pending', 'running')`,
		);
		return open?.n === 0;
	});
}

/**
 * How fast the accepted instance creates were carried to `running`, read from the operations'
 * own timestamps (the first run started to the last one completed); throws unless every one
 * succeeded.
 */
export async function createsCarried(db: Db, accepted: number): Promise<{ seconds: number; perSecond: number }> {
	const [span] = await rows<{ seconds: number; succeeded: number; failed: number }>(
		db,
		sql`
		select extract(epoch from max(completed_at) - min(started_at))::float8 as seconds,
			count(*) filter (where status = 'succeeded')::int as succeeded,
			count(*) filter (where status = 'failed')::int as failed
		from ${operations} where kind = 'instance.create'`,
	);
	if (!span || span.succeeded !== accepted) {
		throw new Error(`expected ${accepted} creates to succeed, got ${JSON.stringify(span)}`);
	}
	return { seconds: span.seconds, perSecond: span.succeeded / span.seconds };
}

/** The rows of a raw query (node-postgres answers a result object, not an array). */
export async function rows<Row>(db: Db, query: SQL): Promise<Row[]> {
	const result = (await db.execute(query)) as unknown as { rows: Row[] };
	return result.rows;
}

export interface CreateOutcome {
	status: number;
	/** The operation the create was accepted with (202 only). */
	operationId?: string;
	/** When the request was sent and answered, ms since the epoch. */
	sentAt: number;
	answeredAt: number;
}

/** Sends one instance create and says how it went; network errors count as status 0. */
export async function sendCreate(url: string, tenant: BenchTenant, body: unknown): Promise<CreateOutcome> {
	const sentAt = Date.now();
	try {
		const response = await fetch(`${url}/v1/tenants/${tenant.tenantId}/instances`, {
			method: "POST",
			headers: { authorization: `Bearer ${tenant.token}`, "content-type": "application/json" },
			body: JSON.stringify(body),
		});
		const answer = (await response.json().catch(() => ({}))) as { operation?: { id?: string } };
		return { status: response.status, operationId: answer.operation?.id, sentAt, answeredAt: Date.now() };
	} catch {
		return { status: 0, sentAt, answeredAt: Date.now() };
	}
}

/**
 * `count` creates over `urls` and `tenants` in turn, `concurrency` at a time (closed loop, as
 * fast as the API answers). Returns every outcome.
 */
export async function sendCreates(
	urls: string[],
	tenants: BenchTenant | BenchTenant[],
	fleet: BenchFleet,
	count: number,
	concurrency: number,
): Promise<CreateOutcome[]> {
	const owners = Array.isArray(tenants) ? tenants : [tenants];
	const body = instanceBody(fleet, `p-${randomBytes(3).toString("hex")}`);
	const outcomes: CreateOutcome[] = [];
	let next = 0;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			for (let i = next++; i < count; i = next++) {
				const owner = owners[i % owners.length] as BenchTenant;
				outcomes.push(await sendCreate(urls[i % urls.length] ?? "", owner, body(i)));
			}
		}),
	);
	return outcomes;
}

/**
 * `count` creates offered at `perSecond` whatever the answers (open loop: a slow API does not
 * slow the offer down), over `tenants` in turn. Resolves when every one has been answered.
 */
export async function offerCreates(
	url: string,
	tenants: BenchTenant[],
	fleet: BenchFleet,
	count: number,
	perSecond: number,
): Promise<CreateOutcome[]> {
	const body = instanceBody(fleet, `b-${randomBytes(3).toString("hex")}`);
	const started = Date.now();
	const pending: Promise<CreateOutcome>[] = [];
	for (let i = 0; i < count; i++) {
		const due = started + (i * 1000) / perSecond;
		const wait = due - Date.now();
		if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
		pending.push(sendCreate(url, tenants[i % tenants.length] as BenchTenant, body(i)));
	}
	return Promise.all(pending);
}

/** Resident memory of a process and everything it started (a private redis-server), in MiB. */
export function treeRssMib(pid: number): number {
	let kib = 0;
	const visit = (id: number) => {
		try {
			const status = readFileSync(`/proc/${id}/status`, "utf8");
			kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
			const children = readFileSync(`/proc/${id}/task/${id}/children`, "utf8").trim();
			for (const child of children ? children.split(/\s+/) : []) visit(Number(child));
		} catch {
			// Gone meanwhile: nothing to count.
		}
	};
	visit(pid);
	return kib / 1024;
}

/** Like sendCreates, but every create must be accepted. Returns how many were. */
export async function acceptCreates(
	url: string,
	tenant: BenchTenant,
	fleet: BenchFleet,
	count: number,
	concurrency: number,
): Promise<number> {
	const outcomes = await sendCreates([url], tenant, fleet, count, concurrency);
	const refused = outcomes.filter((outcome) => outcome.status !== 202);
	if (refused.length > 0) {
		throw new Error(`${refused.length} of ${count} creates refused, e.g. status ${refused[0]?.status}`);
	}
	return outcomes.length;
}

/** The value below which `q` of the sorted values lie. */
export function percentile(sorted: number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
