import { type Db, instances } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { makeFlavor, makeHost, makeZone } from "./fixtures";

let db: Db;
const t = useTestPlatform({
	setup: (t) => {
		db = t.db;
	},
});

/**
 * Holds, on its own connection, the locks an instance create holds until it commits (the tenant
 * FOR KEY SHARE, the flavor FOR SHARE) with its instance inserted, so a delete can be started
 * while the create is mid-transaction.
 */
async function createHeldOpen(tenantId: string, flavorId: string, zoneId: string) {
	const client = new pg.Client({ connectionString: t.database.url });
	await client.connect();
	await client.query("begin");
	await client.query("select id from tenants where id = $1 for key share", [tenantId]);
	await client.query("select id from flavors where id = $1 for share", [flavorId]);
	const { rows } = await client.query<{ id: string }>(
		`insert into instances (id, tenant_id, name, flavor_id, zone_id, status, vcpus, memory_mib, disk_gib)
		 values (gen_random_uuid(), $1, 'racer', $2, $3, 'failed', 1, 512, 10) returning id`,
		[tenantId, flavorId, zoneId],
	);
	return {
		instanceId: rows[0]?.id ?? "",
		async commit() {
			await client.query("commit");
			await client.end();
		},
	};
}

/** Resolves once some session is waiting on a row lock: the delete has reached the create's lock. */
async function deleteIsWaiting(): Promise<void> {
	const deadline = Date.now() + 20_000;
	const probe = new pg.Client({ connectionString: t.database.url });
	await probe.connect();
	try {
		while (Date.now() < deadline) {
			const { rows } = await probe.query(
				"select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
			);
			if (rows.length > 0) return;
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
		throw new Error("the delete never waited on the create's lock");
	} finally {
		await probe.end();
	}
}

describe("deletes racing a create in flight", () => {
	it("a flavor delete waits for the create and then refuses: the new instance keeps its flavor", async () => {
		const zone = await makeZone(db, "KM");
		await makeHost(db, zone.id, { vcpus: 8, memoryMib: 16_384 });
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const tenant = await t.createTenant();
		const create = await createHeldOpen(tenant.id, flavor.id, zone.id);
		const deleting = t.request("DELETE", `/v1/flavors/${flavor.id}`, { token: await t.operatorToken() });
		await deleteIsWaiting();
		await create.commit();
		expect((await deleting).status).toBe(409);
		const [row] = await db.select().from(instances).where(eq(instances.id, create.instanceId));
		expect(row?.flavorId).toBe(flavor.id);
	});

	it("a tenant delete waits for the create and then refuses: the new instance is not cascaded away", async () => {
		const zone = await makeZone(db, "KE");
		const flavor = await makeFlavor(db, { vcpus: 1, memoryMib: 512 });
		const tenant = await t.createTenant();
		const create = await createHeldOpen(tenant.id, flavor.id, zone.id);
		const deleting = t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: await t.operatorToken() });
		await deleteIsWaiting();
		await create.commit();
		expect((await deleting).status).toBe(409);
		expect(await db.select().from(instances).where(eq(instances.id, create.instanceId))).toHaveLength(1);
	});

	it("a service account created for a tenant deleted meanwhile answers 404, not 500", async () => {
		const tenant = await t.createTenant();
		const operator = await t.operatorToken();
		const [deleted, created] = await Promise.all([
			t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: operator }),
			t.request("POST", `/v1/tenants/${tenant.id}/service-accounts`, {
				token: operator,
				body: { name: "late", role: "viewer" },
			}),
		]);
		expect(deleted.status).toBe(204);
		expect([201, 404]).toContain(created.status);
	});
});
