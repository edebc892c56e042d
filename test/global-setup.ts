import { dropStaleTestDatabases, prepareTemplateDatabase } from "@igoudar/db/testing";

export async function setup(): Promise<void> {
	await dropStaleTestDatabases();
	await prepareTemplateDatabase();
}
