import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import {
	createIgoudarClient,
	type IgoudarClient,
	IgoudarError,
	IgoudarTimeoutError,
	type Operation,
} from "@igoudar/sdk";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstalledSdk, packAndInstallSdk } from "../support/sdk-package";
import { type ServerProcess, startServerProcess } from "../support/server-process";

const operator = { clientId: "igc_sdk_operator", clientSecret: "igs_sdk-operator-secret-123456789" };
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `igsdk-${process.pid}`;
/** Low for a server, still enough for the story; the storm starts with its window nearly spent. */
const RATE_LIMIT = 120;
const MISSING = "00000000-0000-4000-8000-000000000000";

describe("the SDK against a real server", () => {
	let database: TestDatabase;
	let server: ServerProcess;
	let redis: Redis;
	let ops: IgoudarClient;
	let tenantId: string;
	let installing: Promise<InstalledSdk>;
	const accounts: Record<string, { clientId: string; clientSecret: string }> = {};

	/**
	 * The server counts a principal's requests in a one-minute window in Redis. Waiting out a whole
	 * minute would only slow the test down, so phases start with fresh windows, and the storm's
	 * window is cut to a few seconds: the server still answers 429 with the Retry-After it computes.
	 */
	async function rateLimitKeys(): Promise<string[]> {
		const keys: string[] = [];
		let cursor = "0";
		do {
			const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:ratelimit:*`, "COUNT", 1000);
			cursor = next;
			keys.push(...batch);
		} while (cursor !== "0");
		return keys;
	}
	async function freshWindows(): Promise<void> {
		const keys = await rateLimitKeys();
		if (keys.length > 0) await redis.del(...keys);
	}

	beforeAll(async () => {
		// The pack and install need no server: they run while it starts and the story goes on.
		installing = packAndInstallSdk();
		installing.catch(() => undefined);
		database = await createTestDatabase();
		redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
		await redis.connect();
		server = await startServerProcess("all", {
			DATABASE_URL: database.url,
			REDIS_URL: redisUrl,
			IGOUDAR_REDIS_PREFIX: prefix,
			IGOUDAR_BOOTSTRAP_CLIENT_ID: operator.clientId,
			IGOUDAR_BOOTSTRAP_CLIENT_SECRET: operator.clientSecret,
			IGOUDAR_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
		});
		ops = createIgoudarClient({ baseUrl: server.url, ...operator });
		await ops.zones.create({ name: "dajla-1", jurisdiction: "MA" });
		await ops.hosts.create({ name: "hv-001", zone: "dajla-1", vcpus: 64, memory_mib: 262_144, disk_gib: 4000 });
		await ops.flavors.create({ name: "t1", vcpus: 1, memory_mib: 512, disk_gib: 5 });
		await ops.storagePools.create({
			name: "dajla-1-ssd",
			zone: "dajla-1",
			storage_class: "ssd",
			capacity_gib: 10_000,
			driver: "simulated",
		});
		tenantId = (await ops.tenants.create({ name: "sdk-acme", data_residency: ["MA"] })).id;
		await ops.quotas.update(tenantId, { limits: { instances: 100, vcpus: 100, memory_mib: 100_000 } });
		for (const name of ["storm", "story", "example"]) {
			const account = await ops.serviceAccounts.create(tenantId, { name, role: "admin" });
			accounts[name] = { clientId: account.client_id, clientSecret: account.client_secret ?? "" };
		}
	}, 90_000);
	afterAll(async () => {
		await server?.stop();
		await database?.drop();
		await freshWindows().catch(() => undefined);
		redis?.disconnect();
		await (await installing.catch(() => undefined))?.remove();
	});

	it("rides out a 429 storm: every create succeeds once, none twice", async () => {
		await freshWindows();
		let refused = 0;
		let retryAfterSeen = false;
		const storm = createIgoudarClient({
			baseUrl: server.url,
			...(accounts.storm ?? operator),
			fetch: async (input, init) => {
				const response = await fetch(input, init);
				if (response.status === 429) {
					refused++;
					retryAfterSeen ||= response.headers.has("retry-after");
				}
				return response;
			},
		});
		// The storm principal's first request opens its window; then only 3 of 30 are left, for 3 s.
		await storm.quotas.list(tenantId);
		const [key, ...others] = (await rateLimitKeys()).filter((k) => k.includes("principal"));
		expect(others).toEqual([]);
		await redis.set(key ?? "", String(RATE_LIMIT - 3), "PX", 3000);

		const names = Array.from({ length: 20 }, (_, i) => `storm-${i}`);
		const created = await Promise.all(names.map((name) => storm.instances.create(tenantId, { name, flavor: "t1" })));
		expect(refused).toBeGreaterThanOrEqual(names.length / 2);
		expect(retryAfterSeen).toBe(true);
		expect(new Set(created.map((c) => c.instance.id)).size).toBe(names.length);

		await freshWindows();
		const listed = await ops.instances.list(tenantId, { limit: 7 }).toArray();
		expect(listed.map((i) => i.name).sort()).toEqual([...names].sort());
		const pages = [];
		for await (const page of ops.instances.list(tenantId, { limit: 7 }).pages()) pages.push(page.items.length);
		expect(pages).toEqual([7, 7, 6]);
	}, 40_000);

	it("waits on operations, with progress, timeout and the operation's problem", async () => {
		await freshWindows();
		const story = createIgoudarClient({ baseUrl: server.url, ...(accounts.story ?? operator) });
		const seen: Operation["status"][] = [];
		const { instance, operation } = await story.instances.create(
			tenantId,
			{ name: "web-1", flavor: "t1", labels: { app: "web" } },
			{ wait: { timeoutMs: 30_000, onProgress: (op) => seen.push(op.status), pollMs: { initial: 50 } } },
		);
		expect(operation.status).toBe("succeeded");
		expect(instance.status).toBe("running");
		expect(seen.at(-1)).toBe("succeeded");

		const running: string[] = [];
		for await (const i of story.instances.list(tenantId, { status: "running", limit: 2 })) running.push(i.name);
		expect(running).toContain("web-1");

		const { volume } = await story.volumes.create(tenantId, { name: "data-1", size_gib: 10 }, { wait: true });
		expect(volume.status).toBe("available");
		const attached = await story.volumes.attach(tenantId, volume.id, { instance_id: instance.id }, { wait: true });
		expect(attached.operation.status).toBe("succeeded");
		expect((await story.instances.get(tenantId, instance.id)).volume_ids).toEqual([volume.id]);
		await story.volumes.detach(tenantId, volume.id, { wait: true });
		await story.instances.stop(tenantId, instance.id, { wait: true });
		expect((await story.instances.get(tenantId, instance.id)).status).toBe("stopped");

		const slow = await story.instances.create(tenantId, { name: "web-2", flavor: "t1" });
		const timedOut = await story.waitForOperation(tenantId, slow.operation.id, { timeoutMs: 1 }).catch((e) => e);
		expect(timedOut).toBeInstanceOf(IgoudarTimeoutError);
		// A delete of an instance still being made cancels its create, whose operation then fails.
		await story.instances.delete(tenantId, slow.instance.id);
		const failed = await story.waitForOperation(tenantId, slow.operation.id).catch((e: unknown) => e);
		expect(failed).toBeInstanceOf(IgoudarError);
		expect(failed).toMatchObject({ code: "cancelled", status: 409 });

		const aborted = new AbortController();
		aborted.abort();
		await expect(story.instances.get(tenantId, instance.id, { signal: aborted.signal })).rejects.toMatchObject({
			name: "AbortError",
		});
	});

	it("throws typed errors carrying the request id", async () => {
		await freshWindows();
		const story = createIgoudarClient({ baseUrl: server.url, ...(accounts.story ?? operator) });
		const missing = await story.instances.get(tenantId, MISSING).catch((e: unknown) => e);
		expect(missing).toBeInstanceOf(IgoudarError);
		expect(missing).toMatchObject({ status: 404, code: "not_found", requestId: expect.any(String) });

		const invalid = await story.instances.create(tenantId, { name: "", flavor: "t1" }).catch((e: unknown) => e);
		expect(invalid).toMatchObject({ status: 400, code: "validation_failed", requestId: expect.any(String) });
		expect((invalid as IgoudarError).errors.length).toBeGreaterThan(0);

		const group = await story.placementGroups.create(tenantId, { name: "db-ha", policy: "anti-affinity" });
		expect((await story.placementGroups.list(tenantId).toArray()).map((g) => g.id)).toEqual([group.id]);
		// Breaking out of the loop stops the paging: 12 events of pages of 5 take three requests.
		const events: string[] = [];
		for await (const event of ops.auditEvents.list({ limit: 5 })) {
			events.push(event.id);
			if (events.length === 12) break;
		}
		expect(new Set(events).size).toBe(12);

		// The raw client does not throw: it resolves with the problem.
		const raw = await story.GET("/v1/tenants/{tenant_id}/instances/{instance_id}", {
			params: { path: { tenant_id: tenantId, instance_id: MISSING } },
		});
		expect(raw.error).toMatchObject({ code: "not_found" });
	});

	it("installs from its packed tarball and runs the README examples in plain Node", async () => {
		const sdk = await installing;
		await freshWindows();
		const output = await sdk.runScript(README_EXAMPLE, {
			IGOUDAR_URL: server.url,
			IGOUDAR_CLIENT_ID: accounts.example?.clientId,
			IGOUDAR_CLIENT_SECRET: accounts.example?.clientSecret,
			IGOUDAR_TENANT: tenantId,
		});
		const result = JSON.parse(output.trim().split("\n").at(-1) ?? "{}");
		expect(result).toMatchObject({
			created: { status: "running", name: "readme-1" },
			running: expect.arrayContaining(["readme-1"]),
			error: { status: 404, code: "not_found", requestId: expect.any(String) },
		});
	}, 60_000);
});

/** The README's SDK examples, verbatim but for the last line, which hands the results to the test. */
const README_EXAMPLE = `
import { createIgoudarClient, IgoudarError } from "@igoudar/sdk";

const igoudar = createIgoudarClient({
	baseUrl: process.env.IGOUDAR_URL,
	clientId: process.env.IGOUDAR_CLIENT_ID,
	clientSecret: process.env.IGOUDAR_CLIENT_SECRET,
});
const tenantId = process.env.IGOUDAR_TENANT;

// Create an instance and wait until it runs (throws IgoudarError if the operation fails)
const { instance } = await igoudar.instances.create(
	tenantId,
	{ name: "readme-1", flavor: "t1", labels: { app: "web" } },
	{ wait: { timeoutMs: 60_000, onProgress: (op) => console.log(op.status, op.progress) } },
);

// Every running instance, following next_page_token
const running = [];
for await (const i of igoudar.instances.list(tenantId, { status: "running" })) running.push(i.name);

// Errors are IgoudarError, with the problem's code and the request id to quote
let error;
try {
	await igoudar.instances.get(tenantId, "00000000-0000-4000-8000-000000000000");
} catch (e) {
	if (!(e instanceof IgoudarError)) throw e;
	error = { status: e.status, code: e.code, requestId: e.requestId };
}

console.log(JSON.stringify({ created: { name: instance.name, status: instance.status }, running, error }));
`;
