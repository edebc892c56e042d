import { randomBytes } from "node:crypto";
import type { Db } from "@igoudar/db";
import { quotas, simStorageLedger, storagePools, zones } from "@igoudar/db";
import type { OperationView } from "@igoudar/jobs";
import { and, asc, eq, inArray } from "drizzle-orm";
import type { Harness, Member } from "./support";
import { settled } from "./support";

/** Storage fixtures for the saga tests: pools written straight to the database, requests through the API. */

export async function makePool(db: Db, zone: string, driver: "simulated" | "local", capacityGib = 1_000) {
	const [zoneRow] = await db.select().from(zones).where(eq(zones.name, zone));
	if (!zoneRow) throw new Error(`no zone ${zone}`);
	const [pool] = await db
		.insert(storagePools)
		.values({
			name: `p-${randomBytes(4).toString("hex")}`,
			zoneId: zoneRow.id,
			storageClass: `c-${randomBytes(3).toString("hex")}`,
			driver,
			capacityGib,
		})
		.returning();
	if (!pool) throw new Error("no pool");
	return pool;
}

type Accepted = { operation: OperationView; volume?: { id: string }; snapshot?: { id: string } };

/** Sends a storage request, expects 202, relays it and waits for its operation to end. */
export async function storageCall(h: Harness, member: Member, method: string, path: string, body?: unknown) {
	const res = await h.t.request<Accepted>(method, `/v1/tenants/${member.tenantId}${path}`, {
		token: member.token,
		body,
	});
	if (res.status !== 202) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
	await h.relay();
	const operation = await settled(h.t, member, res.body.operation.id);
	return { ...res.body, operation };
}

export async function volumeOf(h: Harness, member: Member, volumeId: string) {
	return h.t.request<{ status: string; size_gib: number; instance_id: string | null; code?: string }>(
		"GET",
		`/v1/tenants/${member.tenantId}/volumes/${volumeId}`,
		{ token: member.token },
	);
}

/** What the tenant's storage quotas and the pool's allocation say. */
export async function storageCounters(db: Db, tenantId: string, poolId: string) {
	const rows = await db
		.select({ resource: quotas.resource, used: quotas.used })
		.from(quotas)
		.where(and(eq(quotas.tenantId, tenantId), inArray(quotas.resource, ["volumes", "volume_gib", "snapshots"])));
	const [pool] = await db
		.select({ allocated: storagePools.allocatedGib })
		.from(storagePools)
		.where(eq(storagePools.id, poolId));
	return { quota: Object.fromEntries(rows.map((row) => [row.resource, row.used])), pool: pool?.allocated };
}

export const NO_STORAGE = { quota: { volumes: 0, volume_gib: 0, snapshots: 0 }, pool: 0 };

/** Every effect the simulated storage performed on a resource, in order. */
export async function storageLedger(db: Db, resourceId: string): Promise<string[]> {
	const rows = await db
		.select({ effect: simStorageLedger.effect })
		.from(simStorageLedger)
		.where(eq(simStorageLedger.resourceId, resourceId))
		.orderBy(asc(simStorageLedger.seq));
	return rows.map((row) => row.effect);
}
