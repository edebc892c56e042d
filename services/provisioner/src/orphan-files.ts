import { type Db, operations, snapshots, volumes } from "@igoudar/db";
import { PollLoop } from "@igoudar/jobs";
import { and, inArray, isNotNull, isNull } from "drizzle-orm";
import type { Logger } from "pino";
import type { LocalStorageDriver } from "./drivers/local-storage";

/**
 * Files of the local storage driver that the database does not account for: a volume or snapshot
 * file whose row is gone, retired or holds no pool, and that no open operation is working on.
 * They are reported (log and metric), never deleted: a file nobody knows may still be someone's
 * data (a restore from backup, a hand copy), and only an operator can tell.
 */

export interface OrphanFiles {
	volumes: string[];
	snapshots: string[];
}

let latest: OrphanFiles | null = null;

/** What the last check in this process found, for the metrics endpoint. */
export function latestOrphanFiles(): OrphanFiles | null {
	return latest;
}

export async function findOrphanFiles(db: Db, driver: LocalStorageDriver): Promise<OrphanFiles> {
	const files = await driver.listFiles();
	const ids = [...files.volumes, ...files.snapshots];
	if (ids.length === 0) return { volumes: [], snapshots: [] };
	const live = new Set<string>();
	for (const table of [volumes, snapshots]) {
		const rows = await db
			.select({ id: table.id })
			.from(table)
			.where(and(inArray(table.id, ids), isNull(table.deletedAt), isNotNull(table.poolId)));
		for (const row of rows) live.add(row.id);
	}
	// A file being made or removed right now belongs to its operation.
	const busy = await db
		.select({ id: operations.targetId })
		.from(operations)
		.where(and(inArray(operations.targetId, ids), inArray(operations.status, ["pending", "running"])));
	for (const row of busy) live.add(row.id);
	return {
		volumes: files.volumes.filter((id) => !live.has(id)),
		snapshots: files.snapshots.filter((id) => !live.has(id)),
	};
}

/** Checks this process's data directory on an interval; every worker checks its own. */
export function orphanFileLoop(db: Db, driver: LocalStorageDriver, logger: Logger, intervalMs: number): PollLoop {
	return new PollLoop(
		async () => {
			const found = await findOrphanFiles(db, driver);
			latest = found;
			if (found.volumes.length + found.snapshots.length > 0) {
				logger.warn(
					{ dataDir: driver.dataDir, ...found },
					"files in the volume data directory that no volume or snapshot accounts for; left in place",
				);
			}
			return false;
		},
		intervalMs,
		(error) => logger.error({ err: error }, "orphan file check failed"),
	);
}
