import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import * as schema from "./schema/index";

export type Schema = typeof schema;
/** The database or an open transaction: query functions take either, so callers compose them. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;

export interface DatabaseHandle {
	db: Db;
	kind: "postgres" | "pglite";
	/** The server URL when kind is postgres. */
	url?: string;
	/** Resolves when the database answers a trivial query. */
	ping(): Promise<void>;
	close(): Promise<void>;
}

export interface DatabaseOptions {
	/** A postgres:// URL. When absent, `pgliteDir` selects embedded PGlite. */
	url?: string;
	pgliteDir?: string;
	poolSize?: number;
	/** How long a query may wait for a free connection before it fails (503 to the caller). */
	connectionTimeoutMs?: number;
	applicationName?: string;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
	if (options.url) {
		const pool = new pg.Pool({
			connectionString: options.url,
			max: options.poolSize ?? 10,
			application_name: options.applicationName ?? "igoudar",
			connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
		});
		// An idle client that loses its server must not crash the process; the pool replaces it.
		pool.on("error", () => {});
		// Nor may a checked-out one: a transaction that is awaiting something else (the relay talks
		// to Redis inside one) has no query to fail when the server goes, so pg emits the loss on
		// the client itself, and unheard that is an uncaught exception. The next query on it fails,
		// the transaction rolls back and the pool discards the client.
		pool.on("connect", (client) => {
			client.on("error", () => {});
		});
		const db = drizzleNodePg(pool, { schema }) as unknown as Db;
		return {
			db,
			kind: "postgres",
			url: options.url,
			async ping() {
				await pool.query("select 1");
			},
			async close() {
				await pool.end();
			},
		};
	}
	if (!options.pgliteDir) throw new Error("createDatabase needs either url or pgliteDir");
	mkdirSync(options.pgliteDir, { recursive: true });
	const client = new PGlite(options.pgliteDir);
	const db = drizzlePglite(client, { schema }) as unknown as Db;
	return {
		db,
		kind: "pglite",
		async ping() {
			await client.query("select 1");
		},
		async close() {
			await client.close();
		},
	};
}
