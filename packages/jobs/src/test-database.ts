import type { DatabaseHandle, Db } from "@igoudar/db";
import { createDatabase } from "@igoudar/db";
import type { TestDatabase } from "@igoudar/db/testing";
import { createTestDatabase } from "@igoudar/db/testing";
import { afterAll, beforeAll } from "vitest";

export interface UsedTestDatabase {
	/** The pool made in beforeAll. */
	readonly db: Db;
	/** The database's URL, e.g. for a child process. */
	readonly url: string;
	/**
	 * Another pool on the same database, as a separate process would have (`poolSize` by default
	 * the file's); closed with the first one after the file's tests.
	 */
	openPool(poolSize?: number): Db;
}

/**
 * For this package's test files: a fresh database with the schema, and a pool on it, made before
 * the file's tests and dropped after them. Read `db` and `url` inside tests or hooks, not at import.
 *
 * Call it before the file's own beforeAll/afterAll: its beforeAll then runs first, and its afterAll
 * (vitest runs them in reverse) last, once what the file started on the database has stopped.
 */
export function useTestDatabase(poolSize = 6): UsedTestDatabase {
	let testDatabase: TestDatabase | undefined;
	let handle: DatabaseHandle | undefined;
	const morePools: DatabaseHandle[] = [];
	const made = () => {
		if (!testDatabase || !handle) throw new Error("the test database is made in beforeAll");
		return { testDatabase, handle };
	};
	beforeAll(async () => {
		testDatabase = await createTestDatabase();
		handle = createDatabase({ url: testDatabase.url, poolSize });
	});
	afterAll(async () => {
		await Promise.all([handle, ...morePools.splice(0)].map((pool) => pool?.close()));
		await testDatabase?.drop();
	});
	return {
		get db() {
			return made().handle.db;
		},
		get url() {
			return made().testDatabase.url;
		},
		openPool(size = poolSize) {
			const pool = createDatabase({ url: made().testDatabase.url, poolSize: size });
			morePools.push(pool);
			return pool.db;
		},
	};
}
