/**
 * The floor of the write path: the statements an instance create runs, as named prepared
 * statements on raw pg, in one transaction each, from Node at a given concurrency. No HTTP, no
 * auth, no validation, no ORM: what is left is Postgres' own cost of the create's locks and
 * writes on this machine.
 */
import { performance } from "node:perf_hooks";
import pg from "pg";

const FITS = `f.status = 'enabled' and f.zone_id = $1
	and f.vcpus_used + $2 <= floor(f.vcpus * f.cpu_allocation_ratio)
	and f.memory_mib_used + $3 <= floor(f.memory_mib * f.memory_allocation_ratio)
	and f.disk_gib_used + $4 <= f.disk_gib`;

/** In the order the create runs them (services/compute/src/app/instances.ts). */
const STATEMENTS: Record<string, string> = {
	tenant: "select data_residency from tenants where id = $1 for key share",
	flavor: "select id, name, vcpus, memory_mib, disk_gib from flavors where name = $1 for share",
	zone: "select id, name, jurisdiction from zones where name = $1",
	settings: "select value from platform_settings where key = 'placement'",
	slot: "select pg_advisory_xact_lock(727004, hashtext($1))",
	count: `select count(*)::int as n from (select 1 from operations
		where tenant_id = $1 and status in ('pending', 'running') limit $2) o`,
	quota: `with locked as (
			select resource from quotas where tenant_id = $1 and resource = any($2::text[])
			order by resource collate "C" for update
		), wanted as (select * from unnest($2::text[], $3::bigint[]) as w(resource, n))
		update quotas set used = quotas.used + wanted.n, updated_at = now()
		from locked join wanted on wanted.resource = locked.resource
		where quotas.tenant_id = $1 and quotas.resource = locked.resource and quotas.used + wanted.n <= quotas."limit"
		returning quotas.resource`,
	host: `update hosts set vcpus_used = vcpus_used + $2, memory_mib_used = memory_mib_used + $3,
			disk_gib_used = disk_gib_used + $4, instance_count = instance_count + 1, updated_at = now()
		from zones
		where hosts.id = (
			select h.id from hosts h
			where h.id = any(array(select id from (
					(select f.id from hosts f join zones z on z.id = f.zone_id where ${FITS} and f.id > $5 order by f.id limit 256)
					union all
					(select f.id from hosts f join zones z on z.id = f.zone_id where ${FITS} and f.id <= $5 order by f.id limit 256)
				) w limit 256))
				and h.status = 'enabled' and ${FITS.replaceAll("f.", "h.")}
			order by greatest((h.vcpus_used + $2)::float8 / nullif(floor(h.vcpus * h.cpu_allocation_ratio), 0),
				(h.memory_mib_used + $3)::float8 / nullif(floor(h.memory_mib * h.memory_allocation_ratio), 0)) asc, h.id
			limit 1 for update of h skip locked)
			and zones.id = hosts.zone_id
		returning hosts.id, hosts.zone_id, zones.name`,
	instance: `insert into instances (id, tenant_id, name, flavor_id, zone_id, host_id, status, vcpus, memory_mib, disk_gib, labels)
		values (gen_random_uuid(), $1, $2, $3, $4, $5, 'provisioning', $6, $7, $8, '{}') returning *`,
	operation: `insert into operations (id, tenant_id, kind, target_type, target_id, status)
		values (gen_random_uuid(), $1, 'instance.create', 'instance', $2, 'pending') returning *`,
	outbox: `insert into outbox (operation_id, queue, job_name, payload)
		values ($1, 'compute', 'instance.create', jsonb_build_object('instance_id', $2::text))`,
	audit: `insert into audit_events (id, tenant_id, actor_id, actor_role, action, target_type, target_id, request_id, source_address, detail)
		values (gen_random_uuid(), $1, $2, 'member', 'instance.create', 'instance', $3, $4, '127.0.0.1', jsonb_build_object('host_id', $5::text))`,
};

/** As the server keeps it: the next placement window starts after the last host placed on. */
let windowStart = "00000000-0000-0000-0000-000000000000";

function run(client: pg.PoolClient, name: string, values: unknown[]) {
	return client.query({ name: `floor_create_${name}`, text: STATEMENTS[name] ?? "", values });
}

async function createOnce(client: pg.PoolClient, tenantId: string, flavorName: string, zoneName: string, name: string) {
	await client.query("begin");
	try {
		await run(client, "tenant", [tenantId]);
		const flavor = (await run(client, "flavor", [flavorName])).rows[0];
		const zone = (await run(client, "zone", [zoneName])).rows[0];
		await run(client, "settings", []);
		await run(client, "slot", [tenantId]);
		await run(client, "count", [tenantId, 1_000_000]);
		const claimed = await run(client, "quota", [
			tenantId,
			["instances", "memory_mib", "vcpus"],
			[1, flavor.memory_mib, flavor.vcpus],
		]);
		if (claimed.rowCount !== 3) throw new Error("quota refused");
		const host = (await run(client, "host", [zone.id, flavor.vcpus, flavor.memory_mib, flavor.disk_gib, windowStart]))
			.rows[0];
		if (!host) throw new Error("no host");
		windowStart = host.id;
		const instance = (
			await run(client, "instance", [
				tenantId,
				name,
				flavor.id,
				host.zone_id,
				host.id,
				flavor.vcpus,
				flavor.memory_mib,
				flavor.disk_gib,
			])
		).rows[0];
		const operation = (await run(client, "operation", [tenantId, instance.id])).rows[0];
		await run(client, "outbox", [operation.id, instance.id]);
		await run(client, "audit", [tenantId, "bench", instance.id, name, host.id]);
		await client.query("commit");
	} catch (error) {
		await client.query("rollback");
		throw error;
	}
}

/** Creates for `seconds` from `concurrency` loops sharing a pool as large as the server's. */
export async function sqlCreates(options: {
	databaseUrl: string;
	tenantIds: string[];
	flavor: string;
	zone: string;
	concurrency: number;
	seconds: number;
	prefix: string;
}): Promise<{ perSecond: number; p99: number }> {
	const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
	const latencies: number[] = [];
	let next = 0;
	const started = performance.now();
	const deadline = started + options.seconds * 1000;
	try {
		await Promise.all(
			Array.from({ length: options.concurrency }, async () => {
				while (performance.now() < deadline) {
					const i = next++;
					const tenantId = options.tenantIds[i % options.tenantIds.length] ?? "";
					const t0 = performance.now();
					const client = await pool.connect();
					try {
						await createOnce(client, tenantId, options.flavor, options.zone, `${options.prefix}-${i}`);
					} finally {
						client.release();
					}
					latencies.push(performance.now() - t0);
				}
			}),
		);
	} finally {
		await pool.end();
	}
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
	return { perSecond: latencies.length / seconds, p99 };
}
