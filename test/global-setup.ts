import { dropStaleTestDatabases, dropTemplateDatabase, prepareTemplateDatabase } from "@igoudar/db/testing";
import { buildServer } from "../services/server/build";

let template: string | undefined;

export async function setup(): Promise<void> {
	// Tests that start `igoudar-server` processes run the compiled output, as production does:
	// built here once per run (about a second), so a fresh clone needs only `pnpm install`.
	await buildServer();
	await dropStaleTestDatabases();
	template = await prepareTemplateDatabase();
}

export async function teardown(): Promise<void> {
	if (template) await dropTemplateDatabase(template);
}
