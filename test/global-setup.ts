import { dropStaleTestDatabases, dropTemplateDatabase, prepareTemplateDatabase } from "@igoudar/db/testing";

let template: string | undefined;

export async function setup(): Promise<void> {
	await dropStaleTestDatabases();
	template = await prepareTemplateDatabase();
}

export async function teardown(): Promise<void> {
	if (template) await dropTemplateDatabase(template);
}
