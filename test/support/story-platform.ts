import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import pg from "pg";
import { type PathRouter, startPathRouter } from "./path-router";
import { type ServerProcess, startServerProcess } from "./server-process";

/** The operator credential every story platform is bootstrapped with. */
export const STORY_OPERATOR = { clientId: "igc_story_operator", clientSecret: "igs_story-operator-secret-123456789" };

export type StoryTarget = "all" | "split";

/** The API services of a split deployment, by their gateway upstream names; the workers run apart. */
const API_TARGETS = ["tenants", "compute", "storage", "billing", "energy"] as const;

export interface StoryPlatform {
	url: string;
	databaseUrl: string;
	/** What every process logged, for a failure message. */
	logs(): string;
	stop(): Promise<void>;
}

/**
 * The real server on a database of its own and a Redis prefix of its own: one `--target=all`
 * process, or one process per API service and one `--target=worker`, on the same database and
 * Redis, behind a router that follows the compose gateway's rules.
 */
export async function startStoryPlatform(
	target: StoryTarget,
	extraEnv: NodeJS.ProcessEnv = {},
): Promise<StoryPlatform> {
	const database: TestDatabase = await createTestDatabase();
	const env: NodeJS.ProcessEnv = {
		DATABASE_URL: database.url,
		REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
		IGOUDAR_REDIS_PREFIX: `igstory-${target}-${process.pid}`,
		IGOUDAR_BOOTSTRAP_CLIENT_ID: STORY_OPERATOR.clientId,
		IGOUDAR_BOOTSTRAP_CLIENT_SECRET: STORY_OPERATOR.clientSecret,
		...extraEnv,
	};
	const processes: ServerProcess[] = [];
	let router: PathRouter | undefined;
	const stop = async () => {
		await router?.close();
		await Promise.all(processes.map((process) => process.stop()));
		await database.drop();
	};
	try {
		if (target === "all") {
			processes.push(await startServerProcess("all", env));
		} else {
			// The tenants service first: it makes the signing keys and the operator the others trust.
			processes.push(await startServerProcess("tenants", env));
			processes.push(
				...(await Promise.all([...API_TARGETS.slice(1), "worker"].map((t) => startServerProcess(t, env)))),
			);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	const [first] = processes;
	if (target === "split") {
		router = await startPathRouter(Object.fromEntries(API_TARGETS.map((name, i) => [name, processes[i]?.url ?? ""])));
	}
	return {
		url: router?.url ?? first?.url ?? "",
		databaseUrl: database.url,
		logs: () => processes.map((process) => process.output().slice(-3000)).join("\n---\n"),
		stop,
	};
}

/** The month before this one, as an invoice run takes it: its first instant and the next month's. */
export function previousMonth(now = new Date()): { start: string; end: string } {
	const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
	const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
	return { start: start.toISOString(), end: end.toISOString() };
}

/**
 * Only ended months are invoiced, and the story's tenant was born minutes ago: its resource
 * history is moved one month back, as if the story had been played last month, so the invoice run
 * for last month has real usage to price. Nothing else about the events changes.
 */
export async function moveUsageToLastMonth(databaseUrl: string, tenantId: string): Promise<void> {
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	try {
		for (const table of ["instance_events", "storage_events"]) {
			await client.query(`update ${table} set at = at - interval '1 month' where tenant_id = $1`, [tenantId]);
		}
	} finally {
		await client.end();
	}
}
