/**
 * What every benchmark shares: the figure it reports, the real server started as a child process
 * on a fresh database and a private Redis prefix, the operator and tenant setup through the API,
 * and an HTTP load generator (autocannon) that reports throughput and latency percentiles.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createDatabase, type DatabaseHandle, hosts, zones } from "@igoudar/db";
import { createTestDatabase, dropTemplateDatabase, prepareTemplateDatabase } from "@igoudar/db/testing";
import autocannon from "autocannon";
import { eq } from "drizzle-orm";
import { jsonCall as api } from "../test/support/json-call";
import { type ServerProcess, startServerProcess } from "../test/support/server-process";

export interface BenchFigure {
	benchmark: string;
	metric: string;
	ours: number;
	baseline: number | null;
	baselineName: string;
	unit: string;
	ratio: number | null;
	goal: string;
	met: boolean | null;
	note?: string;
}

export interface BenchOptions {
	/** A smoke run: every benchmark small enough that the whole run takes under a minute. */
	quick: boolean;
}

export type Benchmark = (options: BenchOptions) => Promise<BenchFigure[]>;

/** How a figure is judged: on its ratio to the baseline, or on its own value. */
export interface Goal {
	ratioAtLeast?: number;
	oursAtLeast?: number;
	oursAtMost?: number;
}

function describeGoal(goal: Goal, unit: string): string {
	if (goal.ratioAtLeast !== undefined) return `ratio >= ${goal.ratioAtLeast}`;
	if (goal.oursAtLeast !== undefined) return `>= ${goal.oursAtLeast} ${unit}`;
	if (goal.oursAtMost !== undefined) return `<= ${goal.oursAtMost} ${unit}`;
	return "(reported)";
}

/** Builds a figure, computing the ratio and whether the goal is met. */
export function figure(input: {
	benchmark: string;
	metric: string;
	ours: number;
	unit: string;
	baseline?: number | null;
	baselineName?: string;
	goal?: Goal;
	note?: string;
}): BenchFigure {
	const baseline = input.baseline ?? null;
	const ratio = baseline !== null && baseline > 0 ? input.ours / baseline : null;
	const goal = input.goal ?? {};
	let met: boolean | null = null;
	if (goal.ratioAtLeast !== undefined) met = ratio !== null && ratio >= goal.ratioAtLeast;
	else if (goal.oursAtLeast !== undefined) met = input.ours >= goal.oursAtLeast;
	else if (goal.oursAtMost !== undefined) met = input.ours <= goal.oursAtMost;
	return {
		benchmark: input.benchmark,
		metric: input.metric,
		ours: input.ours,
		baseline,
		baselineName: input.baselineName ?? "",
		unit: input.unit,
		ratio,
		goal: describeGoal(goal, input.unit),
		met,
		...(input.note ? { note: input.note } : {}),
	};
}

// ---------------------------------------------------------------------------------------------
// Load generation

export interface LoadOptions {
	url: string;
	method?: "GET" | "POST" | "PATCH" | "DELETE";
	headers?: Record<string, string>;
	/** A fixed body, or one per request (e.g. a unique name), serialised as JSON. */
	body?: unknown | ((index: number) => unknown);
	/** Per request: another path (on the same host) and headers, e.g. to spread over tenants. */
	vary?: (index: number) => { path?: string; headers?: Record<string, string> };
	connections: number;
	durationSeconds: number;
	/** Open-loop pacing: requests per second over all connections (omit for as fast as possible). */
	rate?: number;
}

export interface LoadResult {
	requests: number;
	perSecond: number;
	/** Latency percentiles in milliseconds. */
	p50: number;
	p99: number;
	max: number;
	/** Responses outside 2xx, and connection errors and timeouts. */
	non2xx: number;
	errors: number;
}

/**
 * Runs autocannon against one URL. Throughput counts only 2xx answers: a server refusing work
 * fast must not look fast.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
	const { body } = options;
	let index = 0;
	const headers = { ...options.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) };
	const result = await autocannon({
		url: options.url,
		method: options.method ?? "GET",
		headers,
		connections: options.connections,
		duration: options.durationSeconds,
		...(options.rate ? { overallRate: options.rate } : {}),
		timeout: 30,
		requests: [
			{
				setupRequest: (request) => {
					const i = index++;
					const varied = options.vary?.(i) ?? {};
					const value = typeof body === "function" ? (body as (i: number) => unknown)(i) : body;
					return {
						...request,
						...(varied.path ? { path: varied.path } : {}),
						...(varied.headers ? { headers: { ...request.headers, ...varied.headers } } : {}),
						...(value === undefined ? {} : { body: JSON.stringify(value) }),
					};
				},
			},
		],
	});
	const ok = result["2xx"];
	return {
		requests: result.requests.total,
		perSecond: ok / result.duration,
		p50: result.latency.p50,
		p99: result.latency.p99,
		max: result.latency.max,
		non2xx: result.non2xx,
		errors: result.errors + result.timeouts,
	};
}

/** A short untimed run so the JIT, the pools and Postgres' caches are warm before measuring. */
export async function warmUp(options: LoadOptions, seconds: number): Promise<void> {
	await load({ ...options, durationSeconds: seconds, rate: undefined });
}

// ---------------------------------------------------------------------------------------------
// The platform under test

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const OPERATOR = { clientId: "igc_bench_operator", clientSecret: `igs_bench-${randomBytes(12).toString("hex")}` };

/**
 * Settings every benchmark server runs with: limits a single-address load generator would hit
 * are raised out of the way. The log level stays the deployment default (info): writing the
 * request log is part of what a request costs.
 */
export const BENCH_SERVER_ENV: NodeJS.ProcessEnv = {
	IGOUDAR_RATE_LIMIT_PER_MINUTE: "100000000",
	IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE: "100000000",
	LOG_LEVEL: "info",
};

/**
 * Once a server listens, its output is read and dropped instead of kept: a log line per request
 * over a benchmark would fill the harness's memory. What it logged while starting stays readable.
 */
function discardFurtherOutput(server: ServerProcess): void {
	for (const stream of [server.child.stdout, server.child.stderr]) {
		stream?.removeAllListeners("data");
		stream?.resume();
	}
}

let template: Promise<string> | undefined;
const cleanups = new Set<() => Promise<void>>();
const children = new Set<ChildProcess>();

/** Ends whatever a run left: servers, databases, the template. Called once by the runner. */
export async function releaseAll(): Promise<void> {
	for (const cleanup of [...cleanups]) await cleanup().catch(() => undefined);
	if (template) await dropTemplateDatabase(await template).catch(() => undefined);
	template = undefined;
}

// A crashed or interrupted runner must not leave server processes behind.
process.once("exit", () => {
	for (const child of children) child.kill("SIGKILL");
});

export interface BenchPlatform {
	/** The first api process. */
	url: string;
	databaseUrl: string;
	redisUrl: string;
	redisPrefix: string;
	/** Direct access to the platform's database: seeding, and the SQL baselines. */
	database: DatabaseHandle;
	processes: ServerProcess[];
	/** Another process of the same platform (an api replica, a worker). */
	startProcess(target: string, env?: NodeJS.ProcessEnv): Promise<ServerProcess>;
	operatorToken(): Promise<string>;
	close(): Promise<void>;
}

/**
 * Starts `igoudar-server --target=<target>` as a real child process on a fresh database cloned
 * from the migrated template, with its own Redis prefix; more processes join through startProcess.
 */
/** A fresh database cloned from the run's migrated template; dropped by releaseAll() at the latest. */
export async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
	template ??= prepareTemplateDatabase();
	await template;
	const testDb = await createTestDatabase();
	const drop = async () => {
		cleanups.delete(drop);
		await testDb.drop();
	};
	cleanups.add(drop);
	return { url: testDb.url, drop };
}

export async function startPlatform(
	options: { target?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<BenchPlatform> {
	const testDb = await freshDatabase();
	const redisPrefix = `igb-${randomBytes(4).toString("hex")}`;
	const env: NodeJS.ProcessEnv = {
		...BENCH_SERVER_ENV,
		DATABASE_URL: testDb.url,
		REDIS_URL: redisUrl,
		IGOUDAR_REDIS_PREFIX: redisPrefix,
		IGOUDAR_BOOTSTRAP_CLIENT_ID: OPERATOR.clientId,
		IGOUDAR_BOOTSTRAP_CLIENT_SECRET: OPERATOR.clientSecret,
		// `BENCH_CPU_PROF=<dir>`: every server writes a V8 CPU profile there when it stops.
		...(process.env.BENCH_CPU_PROF
			? { NODE_OPTIONS: `--import=${fileURLToPath(new URL("./cpu-profile.mjs", import.meta.url))}` }
			: {}),
		...options.env,
	};
	const database = createDatabase({ url: testDb.url, poolSize: 8, applicationName: "igoudar-bench" });
	const processes: ServerProcess[] = [];
	const startProcess = async (target: string, extra: NodeJS.ProcessEnv = {}) => {
		const server = await startServerProcess(target, { ...env, ...extra });
		discardFurtherOutput(server);
		children.add(server.child);
		server.child.once("close", () => children.delete(server.child));
		processes.push(server);
		return server;
	};
	let token: Promise<string> | undefined;
	const close = async () => {
		cleanups.delete(close);
		await Promise.all(processes.map((p) => p.stop("SIGTERM")));
		await database.close().catch(() => undefined);
		await testDb.drop().catch(() => undefined);
	};
	cleanups.add(close);
	const first = await startProcess(options.target ?? "all");
	return {
		url: first.url,
		databaseUrl: testDb.url,
		redisUrl,
		redisPrefix,
		database,
		processes,
		startProcess,
		operatorToken: () => {
			token ??= issueToken(first.url, OPERATOR.clientId, OPERATOR.clientSecret);
			return token;
		},
		close,
	};
}

/** A plain Node process running `script` (TypeScript through tsx) that prints its URL on its first line. */
export async function startScript(
	script: string,
	env: NodeJS.ProcessEnv = {},
): Promise<{ url: string; pid: number; stop(): void }> {
	const child = spawn(process.execPath, ["--import", "tsx", script], {
		env: { ...process.env, ...env },
		stdio: ["ignore", "pipe", "inherit"],
	});
	children.add(child);
	child.once("close", () => children.delete(child));
	const url = await new Promise<string>((resolve, reject) => {
		let out = "";
		child.stdout?.on("data", (chunk: Buffer) => {
			out += chunk.toString();
			const match = /(http:\/\/\S+)/.exec(out);
			if (match?.[1]) resolve(match[1]);
		});
		child.once("close", (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
	});
	return { url, pid: child.pid ?? 0, stop: () => child.kill("SIGTERM") };
}

/**
 * CPU seconds (user and system) a process has used so far, from /proc (Linux; NaN elsewhere).
 * Two readings around a load give the CPU it spent per request, and how busy it was.
 */
export function cpuSeconds(pid: number): number {
	try {
		// Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
	} catch {
		return Number.NaN;
	}
}

/**
 * CPU seconds used so far by every process whose command line starts with `name` (PostgreSQL's
 * backends and its background processes, redis-server): what the database side of a load cost.
 */
export function cpuSecondsOfCommand(name: string): number {
	let total = 0;
	for (const entry of readdirSync("/proc")) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").startsWith(name)) continue;
		} catch {
			continue;
		}
		const seconds = cpuSeconds(Number(entry));
		if (Number.isFinite(seconds)) total += seconds;
	}
	return total;
}

/** USER_HZ: 100 on every Linux build Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

// ---------------------------------------------------------------------------------------------
// Setup through the API

export { api };

/** Like api() but any answer other than `expected` is an error naming the call. */
export async function apiOk<T = Record<string, unknown>>(
	baseUrl: string,
	method: string,
	path: string,
	expected: number,
	options: { token?: string; body?: unknown } = {},
): Promise<T> {
	const res = await api<T>(baseUrl, method, path, options);
	if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

export async function issueToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
	const body = await apiOk<{ access_token: string }>(baseUrl, "POST", "/v1/auth/token", 200, {
		body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
	});
	return body.access_token;
}

export interface BenchFleet {
	zone: string;
	flavor: string;
}

/**
 * A zone in `jurisdiction` with `hosts` large hosts and a 1-vCPU flavor. The first hosts are made
 * through the API; a large fleet is inserted in bulk, as an operator's inventory import would.
 */
export async function createFleet(
	platform: BenchPlatform,
	options: { hosts: number; jurisdiction?: string },
): Promise<BenchFleet> {
	const token = await platform.operatorToken();
	const tag = randomBytes(3).toString("hex");
	const zone = `z-${tag}`;
	await apiOk(platform.url, "POST", "/v1/zones", 201, {
		token,
		body: { name: zone, jurisdiction: options.jurisdiction ?? "MA" },
	});
	const flavor = `f-${tag}`;
	await apiOk(platform.url, "POST", "/v1/flavors", 201, {
		token,
		body: { name: flavor, vcpus: 1, memory_mib: 512, disk_gib: 10 },
	});
	const host = (i: number) => ({ name: `h-${tag}-${i}`, vcpus: 256, memory_mib: 2_097_152, disk_gib: 1_000_000 });
	const viaApi = Math.min(options.hosts, 4);
	for (let i = 0; i < viaApi; i++) {
		await apiOk(platform.url, "POST", "/v1/hosts", 201, { token, body: { ...host(i), zone } });
	}
	if (options.hosts > viaApi) {
		const [zoneRow] = await platform.database.db.select({ id: zones.id }).from(zones).where(eq(zones.name, zone));
		const zoneId = zoneRow?.id;
		for (let from = viaApi; from < options.hosts; from += 1000) {
			const to = Math.min(options.hosts, from + 1000);
			await platform.database.db.insert(hosts).values(
				Array.from({ length: to - from }, (_, k) => {
					const h = host(from + k);
					return { name: h.name, zoneId: String(zoneId), vcpus: h.vcpus, memoryMib: h.memory_mib, diskGib: h.disk_gib };
				}),
			);
		}
	}
	return { zone, flavor };
}

export interface BenchTenant {
	tenantId: string;
	/** A member's token: may create and read instances. */
	token: string;
}

/** A tenant with generous quotas and a member service account holding a fresh token. */
export async function createTenant(
	platform: BenchPlatform,
	options: { instances?: number } = {},
): Promise<BenchTenant> {
	const operator = await platform.operatorToken();
	const tenant = await apiOk<{ id: string }>(platform.url, "POST", "/v1/tenants", 201, {
		token: operator,
		body: { name: `t-${randomBytes(5).toString("hex")}` },
	});
	const room = options.instances ?? 500_000;
	await apiOk(platform.url, "PATCH", `/v1/tenants/${tenant.id}/quotas`, 200, {
		token: operator,
		body: { limits: { instances: room, vcpus: room, memory_mib: room * 512 } },
	});
	const account = await apiOk<{ client_id: string; client_secret: string }>(
		platform.url,
		"POST",
		`/v1/tenants/${tenant.id}/service-accounts`,
		201,
		{ token: operator, body: { name: "bench", role: "member" } },
	);
	return { tenantId: tenant.id, token: await issueToken(platform.url, account.client_id, account.client_secret) };
}

/** Unique instance names for a create load: `prefix-<n>`. */
export function instanceBody(fleet: BenchFleet, prefix: string): (index: number) => unknown {
	return (index) => ({ name: `${prefix}-${index}`, flavor: fleet.flavor, zone: fleet.zone });
}
