import { randomBytes } from "node:crypto";
import { type InstanceStatus, instances, type VolumeStatus, volumes } from "@igoudar/db";
import type { TestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { billingWriteRecipes } from "../../billing/test/audit-recipes";
import { energyWriteRecipes } from "../../energy/test/audit-recipes";
import type { Recipe, WriteCall } from "./audit-coverage-support";

/**
 * How to call each write route of the platform successfully, keyed `METHOD /route/:param`. Every
 * call is made as an operator (who may call them all) except the token exchange, which is public.
 * A write route missing here makes the audit coverage test fail: add its recipe, and make its use
 * case call `recordAudit`.
 */
export function platformWriteRecipes(t: TestPlatform): Record<string, Recipe> {
	const fx = new WriteFixtures(t);
	// Billing and energy keep their own recipes next to their tests.
	return {
		...identityRecipes(fx),
		...computeRecipes(fx),
		...storageRecipes(fx),
		...billingWriteRecipes(t),
		...energyWriteRecipes(t),
	};
}

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;
const SMALL = { vcpus: 1, memory_mib: 512, disk_gib: 10 };

/**
 * Fresh resources for each call, made through the API. Each tenant-scoped call gets a tenant of
 * its own, so open operations never pile up in one (a tenant has a cap on them).
 */
class WriteFixtures {
	constructor(readonly t: TestPlatform) {}

	async as(url: string, body?: unknown): Promise<WriteCall> {
		return { url, body, token: await this.t.operatorToken() };
	}

	async create<T = { id: string }>(url: string, body: unknown): Promise<T> {
		const res = await this.t.request<T>("POST", url, { token: await this.t.operatorToken(), body });
		if (res.status < 200 || res.status > 299) {
			throw new Error(`setup POST ${url}: ${res.status} ${JSON.stringify(res.body)}`);
		}
		return res.body;
	}

	tenant() {
		return this.t.createTenant();
	}

	zone() {
		return this.create("/v1/zones", { name: unique("zone"), jurisdiction: "MA" });
	}

	async host(zoneId?: string) {
		const zone = zoneId ?? (await this.zone()).id;
		return this.create("/v1/hosts", { name: unique("host"), zone, vcpus: 64, memory_mib: 65_536, disk_gib: 500 });
	}

	flavor() {
		return this.create<{ id: string; name: string }>("/v1/flavors", { name: unique("flavor"), ...SMALL });
	}

	/** An instance of `tenantId` on a host of its own in `zoneId` (or a new zone), moved to `status`. */
	async instance(tenantId: string, status?: InstanceStatus, zoneId?: string) {
		const zone = zoneId ?? (await this.zone()).id;
		const [size] = await Promise.all([this.flavor(), this.host(zone)]);
		const created = await this.create<{ instance: { id: string } }>(`/v1/tenants/${tenantId}/instances`, {
			name: unique("vm"),
			flavor: size.name,
			zone,
		});
		const id = created.instance.id;
		// No worker runs here: the status an action starts from is set as the saga would leave it.
		if (status) await this.t.db.update(instances).set({ status }).where(eq(instances.id, id));
		return { id, url: `/v1/tenants/${tenantId}/instances/${id}` };
	}

	/** A zone with a storage pool in it. */
	async pool() {
		const zone = await this.zone();
		const pool = await this.create("/v1/storage-pools", {
			name: unique("pool"),
			zone: zone.id,
			capacity_gib: 1000,
			storage_class: "ssd",
		});
		return { zoneId: zone.id, poolId: pool.id };
	}

	/** A volume of a new tenant, moved to `status` (attached to `instanceId` when given). */
	async volume(status?: VolumeStatus, attach?: (tenantId: string, zoneId: string) => Promise<string>) {
		const [owner, { zoneId }] = await Promise.all([this.tenant(), this.pool()]);
		const created = await this.create<{ volume: { id: string } }>(`/v1/tenants/${owner.id}/volumes`, {
			name: unique("vol"),
			size_gib: 10,
			zone: zoneId,
		});
		const id = created.volume.id;
		const instanceId = attach ? await attach(owner.id, zoneId) : undefined;
		if (status) await this.t.db.update(volumes).set({ status, instanceId }).where(eq(volumes.id, id));
		return { tenantId: owner.id, zoneId, id, url: `/v1/tenants/${owner.id}/volumes/${id}` };
	}
}

function identityRecipes(fx: WriteFixtures): Record<string, Recipe> {
	return {
		"POST /v1/auth/token": async () => {
			const owner = await fx.tenant();
			const { client_id, client_secret } = await fx.create<{ client_id: string; client_secret: string }>(
				`/v1/tenants/${owner.id}/service-accounts`,
				{ name: unique("sa"), role: "viewer" },
			);
			return { url: "/v1/auth/token", body: { grant_type: "client_credentials", client_id, client_secret } };
		},
		"POST /v1/tenants": () => fx.as("/v1/tenants", { name: unique("tenant") }),
		"PATCH /v1/tenants/:tenant_id": async () => fx.as(`/v1/tenants/${(await fx.tenant()).id}`, { display_name: "A" }),
		"DELETE /v1/tenants/:tenant_id": async () => fx.as(`/v1/tenants/${(await fx.tenant()).id}`),
		"POST /v1/tenants/:tenant_id/service-accounts": async () =>
			fx.as(`/v1/tenants/${(await fx.tenant()).id}/service-accounts`, { name: unique("sa"), role: "member" }),
		"DELETE /v1/tenants/:tenant_id/service-accounts/:service_account_id": async () => {
			const owner = await fx.tenant();
			const account = await fx.create(`/v1/tenants/${owner.id}/service-accounts`, {
				name: unique("sa"),
				role: "viewer",
			});
			return fx.as(`/v1/tenants/${owner.id}/service-accounts/${account.id}`);
		},
		"PATCH /v1/tenants/:tenant_id/quotas": async () =>
			fx.as(`/v1/tenants/${(await fx.tenant()).id}/quotas`, { limits: { instances: 20 } }),
		"PATCH /v1/quota-defaults": () => fx.as("/v1/quota-defaults", { limits: { snapshots: 40 } }),
	};
}

function computeRecipes(fx: WriteFixtures): Record<string, Recipe> {
	const instanceUrl = async (status?: InstanceStatus) => (await fx.instance((await fx.tenant()).id, status)).url;
	return {
		"POST /v1/zones": () => fx.as("/v1/zones", { name: unique("zone"), jurisdiction: "MA" }),
		"DELETE /v1/zones/:zone_id": async () => fx.as(`/v1/zones/${(await fx.zone()).id}`),
		"POST /v1/hosts": async () =>
			fx.as("/v1/hosts", { name: unique("host"), zone: (await fx.zone()).id, vcpus: 8, memory_mib: 8192, disk_gib: 1 }),
		"PATCH /v1/hosts/:host_id": async () => fx.as(`/v1/hosts/${(await fx.host()).id}`, { status: "disabled" }),
		"DELETE /v1/hosts/:host_id": async () => fx.as(`/v1/hosts/${(await fx.host()).id}`),
		"POST /v1/flavors": () => fx.as("/v1/flavors", { name: unique("flavor"), ...SMALL }),
		"DELETE /v1/flavors/:flavor_id": async () => fx.as(`/v1/flavors/${(await fx.flavor()).id}`),
		"PATCH /v1/placement-settings": () => fx.as("/v1/placement-settings", { strategy: "spread" }),
		"POST /v1/tenants/:tenant_id/placement-groups": async () =>
			fx.as(`/v1/tenants/${(await fx.tenant()).id}/placement-groups`, { name: unique("pg"), policy: "affinity" }),
		"DELETE /v1/tenants/:tenant_id/placement-groups/:placement_group_id": async () => {
			const owner = await fx.tenant();
			const group = await fx.create(`/v1/tenants/${owner.id}/placement-groups`, {
				name: unique("pg"),
				policy: "anti-affinity",
			});
			return fx.as(`/v1/tenants/${owner.id}/placement-groups/${group.id}`);
		},
		"POST /v1/tenants/:tenant_id/instances": async () => {
			const [owner, size] = await Promise.all([fx.tenant(), fx.flavor(), fx.host()]);
			return fx.as(`/v1/tenants/${owner.id}/instances`, { name: unique("vm"), flavor: size.name });
		},
		"DELETE /v1/tenants/:tenant_id/instances/:instance_id": async () => fx.as(await instanceUrl()),
		"POST /v1/tenants/:tenant_id/instances/:instance_id/start": async () =>
			fx.as(`${await instanceUrl("stopped")}/start`),
		"POST /v1/tenants/:tenant_id/instances/:instance_id/stop": async () =>
			fx.as(`${await instanceUrl("running")}/stop`),
		"POST /v1/tenants/:tenant_id/instances/:instance_id/reboot": async () =>
			fx.as(`${await instanceUrl("running")}/reboot`),
		"POST /v1/system/consistency/repair": () => fx.as("/v1/system/consistency/repair"),
	};
}

function storageRecipes(fx: WriteFixtures): Record<string, Recipe> {
	const attached = async (tenantId: string, zoneId: string) => (await fx.instance(tenantId, "running", zoneId)).id;
	return {
		"POST /v1/storage-pools": async () =>
			fx.as("/v1/storage-pools", {
				name: unique("pool"),
				zone: (await fx.zone()).id,
				capacity_gib: 100,
				storage_class: "hdd",
			}),
		"PATCH /v1/storage-pools/:pool_id": async () =>
			fx.as(`/v1/storage-pools/${(await fx.pool()).poolId}`, { status: "disabled" }),
		"DELETE /v1/storage-pools/:pool_id": async () => fx.as(`/v1/storage-pools/${(await fx.pool()).poolId}`),
		"POST /v1/tenants/:tenant_id/volumes": async () => {
			const [owner, { zoneId }] = await Promise.all([fx.tenant(), fx.pool()]);
			return fx.as(`/v1/tenants/${owner.id}/volumes`, { name: unique("vol"), size_gib: 10, zone: zoneId });
		},
		"DELETE /v1/tenants/:tenant_id/volumes/:volume_id": async () => fx.as((await fx.volume()).url),
		"POST /v1/tenants/:tenant_id/volumes/:volume_id/resize": async () =>
			fx.as(`${(await fx.volume("available")).url}/resize`, { size_gib: 20 }),
		"POST /v1/tenants/:tenant_id/volumes/:volume_id/attach": async () => {
			const volume = await fx.volume("available");
			return fx.as(`${volume.url}/attach`, { instance_id: await attached(volume.tenantId, volume.zoneId) });
		},
		"POST /v1/tenants/:tenant_id/volumes/:volume_id/detach": async () =>
			fx.as(`${(await fx.volume("in_use", attached)).url}/detach`),
		"POST /v1/tenants/:tenant_id/volumes/:volume_id/snapshots": async () =>
			fx.as(`${(await fx.volume("available")).url}/snapshots`, { name: unique("snap") }),
		"DELETE /v1/tenants/:tenant_id/snapshots/:snapshot_id": async () => {
			const volume = await fx.volume("available");
			const taken = await fx.create<{ snapshot: { id: string } }>(`${volume.url}/snapshots`, { name: unique("snap") });
			return fx.as(`/v1/tenants/${volume.tenantId}/snapshots/${taken.snapshot.id}`);
		},
	};
}
