import { fileURLToPath } from "node:url";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import type { DatabaseHandle } from "./client";

export const migrationsFolder = fileURLToPath(new URL("../../../migrations", import.meta.url));

/** Arbitrary constant: serialises migrations when several replicas start together. */
const MIGRATION_LOCK = 727_001;

export async function migrate(handle: DatabaseHandle): Promise<void> {
	if (handle.kind === "pglite") {
		await migratePglite(handle.db as unknown as PgliteDatabase, { migrationsFolder });
		return;
	}
	if (!handle.url) throw new Error("a postgres handle must carry its url");
	await migrateUrl(handle.url);
}

/** Applies pending migrations on one dedicated session holding an advisory lock. */
export async function migrateUrl(url: string): Promise<void> {
	const client = new pg.Client({ connectionString: url, application_name: "igoudar-migrate" });
	client.on("error", () => {});
	await client.connect();
	try {
		await client.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
		await migrateNodePg(drizzleNodePg(client), { migrationsFolder });
	} finally {
		await client.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
		await client.end();
	}
}
