import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateUrl } from "./migrate";

/** Where tests find a Postgres server they may create databases on. */
export const testServerUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
/** Databases this module creates carry their creation time, so stale ones can be told apart. */
const PREFIX = "igoudar_t_";
const STALE_AFTER_SECONDS = 3 * 60 * 60;

function stampedName(kind: "tpl" | "db"): string {
	return `${PREFIX}${kind}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString("hex")}`;
}

/** Set by the global setup of a test run; each run has its own, so parallel runs never collide. */
function templateDatabase(): string {
	const name = process.env.IGOUDAR_TEST_TEMPLATE;
	if (!name) throw new Error("no template database: the test run's global setup must call prepareTemplateDatabase()");
	return name;
}

function urlFor(database: string): string {
	const url = new URL(testServerUrl);
	url.pathname = `/${database}`;
	return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: testServerUrl });
	// A connection ended by the server must surface as a rejected query, not crash the run.
	client.on("error", () => {});
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

/**
 * Builds the migrated template that every test database of this run is cloned from, and
 * publishes its name to the test workers through the environment they inherit.
 */
export async function prepareTemplateDatabase(): Promise<string> {
	const name = stampedName("tpl");
	await withAdmin((admin) => admin.query(`create database ${name}`));
	await migrateUrl(urlFor(name));
	process.env.IGOUDAR_TEST_TEMPLATE = name;
	return name;
}

export async function dropTemplateDatabase(name: string): Promise<void> {
	await withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`));
}

export interface TestDatabase {
	name: string;
	url: string;
	drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template, private to one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
	const name = stampedName("db");
	await withAdmin((admin) => admin.query(`create database ${name} template ${templateDatabase()}`));
	return {
		name,
		url: urlFor(name),
		drop: () => withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
	};
}

/**
 * Drops test databases left behind by killed runs: only those older than a few hours, so a run
 * going on in parallel keeps its own.
 */
export async function dropStaleTestDatabases(): Promise<void> {
	await withAdmin(async (admin) => {
		const { rows } = await admin.query<{ datname: string }>(
			`select datname from pg_database where datname like '${PREFIX}%'`,
		);
		const now = Math.floor(Date.now() / 1000);
		for (const { datname } of rows) {
			const stamp = Number(datname.split("_")[3]);
			if (Number.isFinite(stamp) && now - stamp < STALE_AFTER_SECONDS) continue;
			await admin.query(`drop database if exists ${datname} with (force)`);
		}
	});
}
