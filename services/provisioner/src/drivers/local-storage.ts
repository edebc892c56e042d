import { execFile } from "node:child_process";
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Db } from "@igoudar/db";
import { admitFence } from "./data-plane";
import { type DriverCall, PermanentDriverError, TransientDriverError } from "./driver";
import { GIB, type StorageDriver, type VolumeSpec } from "./storage-driver";

const run = promisify(execFile);

/**
 * Volumes as sparse files under a data directory: `<dir>/<volume id>.img` of the volume's
 * apparent size, snapshots as copies in `<dir>/snapshots/` (a reflink where the filesystem can,
 * else a copy that keeps holes), the attachment as a small `<volume id>.attachment` file. Every
 * change is made under a temporary name and renamed into place, so a crash leaves either the old
 * state or the new one, never half a file under the real name.
 *
 * Fencing: each call holds its resource's fence row (admitted in a database transaction) while it
 * touches the files, so calls for one resource run one at a time across every worker, and a
 * superseded run's call is refused before it touches anything.
 */
export class LocalStorageDriver implements StorageDriver {
	readonly name = "local";

	constructor(
		private readonly db: Db,
		readonly dataDir: string,
	) {}

	volumePath(volumeId: string): string {
		return join(this.dataDir, `${volumeId}.img`);
	}

	snapshotPath(snapshotId: string): string {
		return join(this.dataDir, "snapshots", `${snapshotId}.img`);
	}

	private attachmentPath(volumeId: string): string {
		return join(this.dataDir, `${volumeId}.attachment`);
	}

	private async fenced(resourceId: string, call: DriverCall, effect: () => Promise<void>): Promise<void> {
		await mkdir(join(this.dataDir, "snapshots"), { recursive: true });
		await this.db.transaction(async (tx) => {
			await admitFence(tx as unknown as Db, resourceId, call);
			try {
				await effect();
			} catch (error) {
				if (error instanceof PermanentDriverError) throw error;
				// A full disk or an I/O error may clear; the saga retries it under its policy.
				throw new TransientDriverError(`local storage: ${(error as Error).message}`);
			}
		});
	}

	/** Writes `path` by making `temporary` and renaming it into place. */
	private async place(path: string, make: (temporary: string) => Promise<void>): Promise<void> {
		const temporary = `${path}.${process.pid}.partial`;
		await rm(temporary, { force: true });
		await make(temporary);
		await rename(temporary, path);
	}

	createVolume(spec: VolumeSpec, call: DriverCall): Promise<void> {
		return this.fenced(spec.volumeId, call, async () => {
			const path = this.volumePath(spec.volumeId);
			if (await exists(path)) return;
			await this.place(path, async (temporary) => {
				const file = await open(temporary, "wx");
				await file.close();
				await truncate(temporary, spec.sizeGib * GIB);
			});
		});
	}

	restoreVolume(spec: VolumeSpec, snapshotId: string, call: DriverCall): Promise<void> {
		return this.fenced(spec.volumeId, call, async () => {
			const path = this.volumePath(spec.volumeId);
			if (await exists(path)) return;
			const source = this.snapshotPath(snapshotId);
			if (!(await exists(source))) throw new PermanentDriverError(`no snapshot file ${snapshotId}`, "not_found");
			await this.place(path, async (temporary) => {
				await copySparse(source, temporary);
				if ((await stat(temporary)).size < spec.sizeGib * GIB) await truncate(temporary, spec.sizeGib * GIB);
			});
		});
	}

	deleteVolume(volumeId: string, call: DriverCall): Promise<void> {
		return this.fenced(volumeId, call, async () => {
			await rm(this.attachmentPath(volumeId), { force: true });
			await rm(this.volumePath(volumeId), { force: true });
		});
	}

	growVolume(volumeId: string, sizeGib: number, call: DriverCall): Promise<void> {
		return this.fenced(volumeId, call, async () => {
			const path = this.volumePath(volumeId);
			if (!(await exists(path))) throw new PermanentDriverError(`no volume file ${volumeId}`, "not_found");
			// Growing a file in place keeps its data; it never shrinks.
			if ((await stat(path)).size < sizeGib * GIB) await truncate(path, sizeGib * GIB);
		});
	}

	attachVolume(volumeId: string, instanceId: string, call: DriverCall): Promise<void> {
		return this.fenced(volumeId, call, async () => {
			if (!(await exists(this.volumePath(volumeId)))) {
				throw new PermanentDriverError(`no volume file ${volumeId}`, "not_found");
			}
			const current = await readAttachment(this.attachmentPath(volumeId));
			if (current === instanceId) return;
			if (current) throw new PermanentDriverError(`volume ${volumeId} is attached to ${current}`, "conflict");
			await this.place(this.attachmentPath(volumeId), (temporary) => writeFile(temporary, instanceId));
		});
	}

	detachVolume(volumeId: string, call: DriverCall): Promise<void> {
		return this.fenced(volumeId, call, () => rm(this.attachmentPath(volumeId), { force: true }));
	}

	createSnapshot(snapshotId: string, volumeId: string, _poolId: string, call: DriverCall): Promise<void> {
		return this.fenced(snapshotId, call, async () => {
			const path = this.snapshotPath(snapshotId);
			if (await exists(path)) return;
			const source = this.volumePath(volumeId);
			if (!(await exists(source))) throw new PermanentDriverError(`no volume file ${volumeId}`, "not_found");
			await this.place(path, (temporary) => copySparse(source, temporary));
		});
	}

	deleteSnapshot(snapshotId: string, call: DriverCall): Promise<void> {
		return this.fenced(snapshotId, call, () => rm(this.snapshotPath(snapshotId), { force: true }));
	}

	/** Every volume and snapshot that has a file, by id: for the check against the database. */
	async listFiles(): Promise<{ volumes: string[]; snapshots: string[] }> {
		const ids = async (dir: string) =>
			(await readdir(dir).catch(() => [] as string[]))
				.filter((name) => /^[0-9a-f-]{36}\.img$/.test(name))
				.map((name) => name.slice(0, 36));
		return { volumes: await ids(this.dataDir), snapshots: await ids(join(this.dataDir, "snapshots")) };
	}
}

async function exists(path: string): Promise<boolean> {
	return stat(path).then(
		() => true,
		() => false,
	);
}

async function readAttachment(path: string): Promise<string | undefined> {
	return readFile(path, "utf8").then(
		(text) => text.trim() || undefined,
		() => undefined,
	);
}

/**
 * A copy that shares blocks where the filesystem allows (reflink: instant, no extra space) and
 * otherwise keeps the source's holes, so a 1 TiB volume with 1 GiB written costs 1 GiB to copy.
 * GNU cp does both; Node's copyFile would write every zero of the holes.
 */
async function copySparse(source: string, target: string): Promise<void> {
	await run("cp", ["--reflink=auto", "--sparse=always", source, target]);
}
