import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { open, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase, type DatabaseHandle } from "@igoudar/db";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOrphanFiles, GIB, LocalStorageDriver, StaleFenceError } from "../src/index";

/**
 * The local driver on a real filesystem: volumes are sparse files of the right apparent size,
 * grown in place, copied for snapshots and restores without filling their holes, removed on
 * delete; every call is idempotent and a superseded run's call is refused before it touches a file.
 */

let testDb: TestDatabase;
let handle: DatabaseHandle;
let dir: string;
let driver: LocalStorageDriver;
let fence = 1;
const call = (key: string) => ({ operationId: randomUUID(), fence: fence++, idempotencyKey: key });

beforeAll(async () => {
	testDb = await createTestDatabase();
	handle = createDatabase({ url: testDb.url, poolSize: 2 });
	dir = mkdtempSync(join(tmpdir(), "igoudar-volumes-"));
	driver = new LocalStorageDriver(handle.db, dir);
});
afterAll(async () => {
	rmSync(dir, { recursive: true, force: true });
	await handle?.close();
	await testDb?.drop();
});

/** The first bytes of a file (volumes are far too large to read whole). */
async function head(path: string, length: number): Promise<string> {
	const file = await open(path, "r");
	try {
		const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, 0);
		return buffer.subarray(0, bytesRead).toString();
	} finally {
		await file.close();
	}
}

/** Apparent size, and the bytes the file really takes on disk. */
async function sizes(path: string) {
	const info = await stat(path);
	return { apparent: info.size, allocated: info.blocks * 512 };
}

describe("the local storage driver", () => {
	it("creates a sparse file of the volume's size, and creating it again changes nothing", async () => {
		const id = randomUUID();
		await driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 4 }, call("c1"));
		const made = await sizes(driver.volumePath(id));
		expect(made.apparent).toBe(4 * GIB);
		expect(made.allocated).toBeLessThan(1024 * 1024);
		await writeFile(driver.volumePath(id), "data", { flag: "r+" });
		await driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 4 }, call("c1"));
		expect(await head(driver.volumePath(id), 4)).toBe("data");
	});

	it("grows in place keeping the data, never shrinks, and copies without filling the holes", async () => {
		const id = randomUUID();
		await driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 2 }, call("c2"));
		await writeFile(driver.volumePath(id), "keep me", { flag: "r+" });
		await driver.growVolume(id, 6, call("g2"));
		await driver.growVolume(id, 3, call("g3"));
		expect((await sizes(driver.volumePath(id))).apparent).toBe(6 * GIB);

		const snapshotId = randomUUID();
		await driver.createSnapshot(snapshotId, id, randomUUID(), call("s2"));
		const copy = await sizes(driver.snapshotPath(snapshotId));
		expect(copy.apparent).toBe(6 * GIB);
		expect(copy.allocated).toBeLessThan(16 * 1024 * 1024);

		const restored = randomUUID();
		await driver.restoreVolume({ volumeId: restored, poolId: randomUUID(), sizeGib: 10 }, snapshotId, call("r2"));
		expect((await sizes(driver.volumePath(restored))).apparent).toBe(10 * GIB);
		expect(await head(driver.volumePath(restored), 7)).toBe("keep me");

		expect(await driver.listFiles()).toMatchObject({
			volumes: expect.arrayContaining([id, restored]),
			snapshots: [snapshotId],
		});
		for (const target of [id, restored]) {
			await driver.deleteVolume(target, call(`d-${target}`));
			await driver.deleteVolume(target, call(`d2-${target}`));
		}
		// Undos run twice after a crash between the effect and its record: the second does nothing.
		await driver.deleteSnapshot(snapshotId, call("ds"));
		await driver.deleteSnapshot(snapshotId, call("ds"));
		expect(await driver.listFiles()).toEqual({
			volumes: expect.not.arrayContaining([id, restored]),
			snapshots: [],
		});
	});

	it("attaches to one instance at a time, idempotently, and detaches", async () => {
		const id = randomUUID();
		const instance = randomUUID();
		await driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 1 }, call("c3"));
		await driver.attachVolume(id, instance, call("a3"));
		await driver.attachVolume(id, instance, call("a3"));
		await expect(driver.attachVolume(id, randomUUID(), call("a4"))).rejects.toMatchObject({ code: "conflict" });
		await driver.detachVolume(id, call("d3"));
		await driver.detachVolume(id, call("d3"));
		await driver.attachVolume(id, randomUUID(), call("a5"));
	});

	it("refuses the call of a superseded run before it touches the file", async () => {
		const id = randomUUID();
		const late = { operationId: randomUUID(), fence: fence++, idempotencyKey: "late" };
		await driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 1 }, call("c4"));
		await driver.deleteVolume(id, call("d4"));
		// A create from an older run, arriving after the delete: refused, no file comes back.
		await expect(driver.createVolume({ volumeId: id, poolId: randomUUID(), sizeGib: 1 }, late)).rejects.toBeInstanceOf(
			StaleFenceError,
		);
		await expect(stat(driver.volumePath(id))).rejects.toThrow();
	});

	it("reports a file the database does not account for, and leaves it in place", async () => {
		const stray = randomUUID();
		await driver.createVolume({ volumeId: stray, poolId: randomUUID(), sizeGib: 1 }, call("c5"));
		const found = await findOrphanFiles(handle.db, driver);
		expect(found.volumes).toContain(stray);
		expect((await sizes(driver.volumePath(stray))).apparent).toBe(GIB);
	});
});
