import type { DatabaseHandle, Db } from "@igoudar/db";
import { createDatabase } from "@igoudar/db";
import type { TestDatabase } from "@igoudar/db/testing";
import { createTestDatabase } from "@igoudar/db/testing";
import { afterAll, beforeAll } from "vitest";

/**
 * For this package's test files: a fresh database with the schema, and a pool on it, made before
 * the file's tests and dropped after them. Read `db` inside tests or hooks, not at import.
 */
export function useTestDatabase(poolSize = 6): { readonly db: Db } {
	let testDatabase: TestDatabase | undefined;
	let handle: DatabaseHandle | undefined;
	beforeAll(async () => {
		testDatabase = await createTestDatabase();
		handle = createDatabase({ url: testDatabase.url, poolSize });
	});
	afterAll(async () => {
		await handle?.close();
		await testDatabase?.drop();
	});
	return {
		get db() {
			if (!handle) throw new Error("the test database is made in beforeAll");
			return handle.db;
		},
	};
}
