import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrateUrl } from "./migrate";

/** Where tests find a Postgres server they may create databases on. */
export const testServerUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEMPLATE_DATABASE = process.env.TEST_TEMPLATE_DATABASE ?? "igoudar_test_template";

function urlFor(database: string): string {
	const url = new URL(testServerUrl);
	url.pathname = `/${database}`;
	return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
	const client = new pg.Client({ connectionString: testServerUrl });
	await client.connect();
	try {
		return await fn(client);
	} finally {
		await client.end();
	}
}

/** Builds the migrated template that every test database is cloned from (once per test run). */
export async function prepareTemplateDatabase(): Promise<void> {
	await withAdmin(async (admin) => {
		await admin.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
		await admin.query(`create database ${TEMPLATE_DATABASE}`);
	});
	await migrateUrl(urlFor(TEMPLATE_DATABASE));
}

export interface TestDatabase {
	name: string;
	url: string;
	drop(): Promise<void>;
}

/** A fresh database cloned from the migrated template, private to one test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
	const name = `igoudar_t_${randomBytes(6).toString("hex")}`;
	await withAdmin((admin) => admin.query(`create database ${name} template ${TEMPLATE_DATABASE}`));
	return {
		name,
		url: urlFor(name),
		drop: () => withAdmin((admin) => admin.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
	};
}

/** Drops test databases left behind by runs that were killed. */
export async function dropStaleTestDatabases(): Promise<void> {
	await withAdmin(async (admin) => {
		const { rows } = await admin.query<{ datname: string }>(
			"select datname from pg_database where datname like 'igoudar_t_%'",
		);
		for (const row of rows) await admin.query(`drop database if exists ${row.datname} with (force)`);
	});
}
