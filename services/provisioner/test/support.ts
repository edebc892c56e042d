import { randomBytes } from "node:crypto";
import type { Db } from "@igoudar/db";
import { flavors, hosts, quotas, simFaults, simLedger, simMachines, zones } from "@igoudar/db";
import type { OperationView } from "@igoudar/jobs";
import { silentLogger, waitFor } from "@igoudar/jobs/testing";
import { TestPlatform } from "@igoudar/server/testing";
import { and, asc, eq, inArray } from "drizzle-orm";
import {
	type ComputeDriver,
	type Provisioner,
	provisionerSettingsFromEnv,
	type StorageDrivers,
	startProvisioner,
} from "../src/index";

/**
 * A platform in this process on its own database and Redis prefix, with a provisioner (the real
 * workers, sagas and simulated driver) on the same prefix. The relay is driven by hand (`relay()`)
 * so a test decides when a job may start, e.g. after it has injected a fault for that instance.
 */
export class Harness {
	private constructor(
		readonly t: TestPlatform,
		readonly provisioner: Provisioner,
	) {}

	/** `driver` replaces the simulated driver the settings name (e.g. one wrapped to hold calls). */
	static async start(
		env: NodeJS.ProcessEnv = {},
		driver?: (db: Db) => ComputeDriver,
		storageDrivers?: (db: Db) => StorageDrivers,
	): Promise<Harness> {
		const t = await TestPlatform.start();
		try {
			const provisioner = await startProvisioner({
				db: t.db,
				redisUrl: t.config.redisUrl,
				prefix: t.config.redisPrefix,
				logger: silentLogger(),
				driver: driver?.(t.db),
				storageDrivers: storageDrivers?.(t.db),
				settings: provisionerSettingsFromEnv({
					IGOUDAR_SIM_LATENCY_MS: "0",
					IGOUDAR_SIM_JITTER_MS: "0",
					IGOUDAR_WORKER_CONCURRENCY: "4",
					// Operations of these tests finish in seconds; nothing here should need a re-drive.
					IGOUDAR_RECONCILE_STALE_MS: "60000",
					IGOUDAR_RECONCILE_INTERVAL_MS: "60000",
					IGOUDAR_STALLED_INTERVAL_MS: "5000",
					// Five tries a step, quickly: the tests inject faults that clear or never do.
					IGOUDAR_STEP_RETRY_ATTEMPTS: "5",
					IGOUDAR_STEP_RETRY_BASE_MS: "100",
					IGOUDAR_STEP_RETRY_MAX_MS: "400",
					...env,
				}),
			});
			return new Harness(t, provisioner);
		} catch (error) {
			await t.close();
			throw error;
		}
	}

	get db(): Db {
		return this.t.db;
	}

	/** Moves every committed outbox row into BullMQ, as the relay loop would. */
	async relay(): Promise<void> {
		const relay = this.t.platform.relay;
		if (!relay) throw new Error("this target runs no relay");
		await relay.relayAll();
	}

	async close(): Promise<void> {
		await this.provisioner.close();
		await this.t.close();
	}
}

const suffix = () => randomBytes(4).toString("hex");

export interface Inventory {
	zone: string;
	hostId: string;
	flavor: string;
}

/** A zone with one host and a 2 vCPU / 2 GiB / 20 GiB flavor, written straight to the database. */
export async function makeInventory(db: Db, jurisdiction = "MA"): Promise<Inventory> {
	const [zone] = await db
		.insert(zones)
		.values({ name: `z-${suffix()}`, jurisdiction })
		.returning();
	if (!zone) throw new Error("no zone");
	const [host] = await db
		.insert(hosts)
		.values({ name: `h-${suffix()}`, zoneId: zone.id, vcpus: 32, memoryMib: 131_072, diskGib: 2_000 })
		.returning();
	const [flavor] = await db
		.insert(flavors)
		.values({ name: `f-${suffix()}`, vcpus: 2, memoryMib: 2048, diskGib: 20 })
		.returning();
	if (!host || !flavor) throw new Error("no host or flavor");
	return { zone: zone.name, hostId: host.id, flavor: flavor.name };
}

export interface Member {
	tenantId: string;
	token: string;
}

export async function makeMember(t: TestPlatform): Promise<Member> {
	const tenant = await t.createTenant();
	const { token } = await t.principal(tenant.id, "member");
	return { tenantId: tenant.id, token };
}

export interface InstanceBody {
	id: string;
	status: string;
}

export async function createInstance(
	t: TestPlatform,
	member: Member,
	inventory: Inventory,
	name = `vm-${suffix()}`,
): Promise<{ instance: InstanceBody; operation: OperationView }> {
	const res = await t.request<{ instance: InstanceBody; operation: OperationView }>(
		"POST",
		`/v1/tenants/${member.tenantId}/instances`,
		{ token: member.token, body: { name, flavor: inventory.flavor, zone: inventory.zone } },
	);
	if (res.status !== 202) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
	return res.body;
}

/** POST start|stop|reboot or DELETE; returns status and body as answered. */
export function action(
	t: TestPlatform,
	member: Member,
	instanceId: string,
	verb: "start" | "stop" | "reboot" | "delete",
) {
	const base = `/v1/tenants/${member.tenantId}/instances/${instanceId}`;
	return verb === "delete"
		? t.request<{ operation: OperationView; code?: string }>("DELETE", base, { token: member.token })
		: t.request<{ operation: OperationView; code?: string }>("POST", `${base}/${verb}`, { token: member.token });
}

export async function getInstance(t: TestPlatform, member: Member, instanceId: string) {
	return t.request<InstanceBody & { code?: string }>("GET", `/v1/tenants/${member.tenantId}/instances/${instanceId}`, {
		token: member.token,
	});
}

/** Polls the operation through the API until it has ended, and returns it. */
export async function settled(t: TestPlatform, member: Member, operationId: string, timeoutMs = 10_000) {
	return waitFor(
		async () => {
			const res = await t.request<OperationView>("GET", `/v1/tenants/${member.tenantId}/operations/${operationId}`, {
				token: member.token,
			});
			return res.body.status === "succeeded" || res.body.status === "failed" ? res.body : undefined;
		},
		{ timeoutMs, intervalMs: 50, what: `operation ${operationId} to end` },
	);
}

/** The counters quota and placement keep for a tenant and a host. */
export async function counters(db: Db, tenantId: string, hostId: string) {
	const rows = await db
		.select({ resource: quotas.resource, used: quotas.used })
		.from(quotas)
		.where(and(eq(quotas.tenantId, tenantId), inArray(quotas.resource, ["instances", "vcpus", "memory_mib"])));
	const [host] = await db
		.select({
			vcpus: hosts.vcpusUsed,
			memoryMib: hosts.memoryMibUsed,
			diskGib: hosts.diskGibUsed,
			instances: hosts.instanceCount,
		})
		.from(hosts)
		.where(eq(hosts.id, hostId));
	return { quota: Object.fromEntries(rows.map((row) => [row.resource, row.used])), host };
}

export const BASELINE = {
	quota: { instances: 0, vcpus: 0, memory_mib: 0 },
	host: { vcpus: 0, memoryMib: 0, diskGib: 0, instances: 0 },
};

/** Every effect the simulated data plane performed for the instance, in order. */
export async function ledger(db: Db, instanceId: string): Promise<string[]> {
	const rows = await db
		.select({ effect: simLedger.effect })
		.from(simLedger)
		.where(eq(simLedger.instanceId, instanceId))
		.orderBy(asc(simLedger.seq));
	return rows.map((row) => row.effect);
}

export async function machine(db: Db, instanceId: string) {
	const [row] = await db.select().from(simMachines).where(eq(simMachines.instanceId, instanceId));
	return row;
}

/** The next `remaining` calls of `action` for this instance fail. */
export async function injectFault(
	db: Db,
	instanceId: string,
	action: string,
	kind: "transient" | "permanent",
	remaining = 1,
): Promise<void> {
	await db.insert(simFaults).values({ instanceId, action, kind, remaining });
}
