import { sql } from "drizzle-orm";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type DatabaseHandle } from "./client";
import { createTestDatabase, type TestDatabase } from "./testing";

/**
 * A transaction whose BEGIN fails (the pool handed out a connection that died while it sat idle:
 * a PostgreSQL restart) must give its connection back. drizzle 0.45 sent BEGIN outside its
 * try/finally, so such a connection stayed checked out for good: the pool shrank by one each
 * time, and closing it waited forever (patches/drizzle-orm@0.45.4.patch).
 */
let testDatabase: TestDatabase;
let handle: DatabaseHandle;
beforeAll(async () => {
	testDatabase = await createTestDatabase();
	handle = createDatabase({ url: testDatabase.url, poolSize: 1, connectionTimeoutMs: 2_000 });
});
afterAll(async () => {
	await testDatabase?.drop();
});

describe("a pooled transaction whose BEGIN fails", () => {
	it("releases its connection, so the pool still serves and closes", async () => {
		const pool = (handle.db as unknown as { $client: pg.Pool }).$client;
		// The next connection handed out fails its first statement, as a dead one does.
		const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>;
		(pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
			(pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = connect;
			const client = await connect();
			const query = client.query.bind(client);
			let first = true;
			(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
				if (first) {
					first = false;
					return Promise.reject(new Error("Connection terminated unexpectedly"));
				}
				return (query as (...a: unknown[]) => unknown)(...args);
			};
			return client;
		};

		await expect(handle.db.transaction(async (tx) => tx.execute(sql`select 1`))).rejects.toThrow("Failed query: begin");
		// The pool's one connection is free again: the next transaction gets it at once.
		const next = await handle.db.transaction(async (tx) => tx.execute(sql`select 2 as n`));
		expect((next as unknown as { rows: { n: number }[] }).rows[0]?.n).toBe(2);
		const closed = await Promise.race([
			handle.close().then(() => "closed"),
			new Promise((resolve) => setTimeout(() => resolve("still waiting for a connection"), 5_000)),
		]);
		expect(closed).toBe("closed");
	});
});
