/**
 * The floor of the write path: the statements an instance create runs, as named prepared
 * statements on raw pg, in one transaction each, from Node at a given concurrency. No HTTP, no
 * auth, no validation, no ORM: what is left is Postgres' own cost of the create's locks and
 * writes on this machine.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import pg from "pg";

const FITS = `f.status = 'enabled' and f.zone_id = $1
	and f.vcpus_used + $2 <= floor(f.vcpus * f.cpu_allocation_ratio)
	and f.memory_mib_used + $3 <= floor(f.memory_mib * f.memory_allocation_ratio)
	and f.disk_gib_used + $4 <= f.disk_gib`;

/** In the order the create runs them (services/compute/src/app/instances.ts). */
const STATEMENTS: Record<string, string> = {
	context: `with tenant as (select data_residency from tenants where id = $1 for key share),
			flavor as (select id, name, vcpus, memory_mib, disk_gib from flavors where name = $2 for share),
			zone as (select id, name, jurisdiction from zones where name = $3),
			placement as (select value from platform_settings where key = 'placement')
		select tenant.data_residency, flavor.id as flavor_id, flavor.vcpus, flavor.memory_mib, flavor.disk_gib,
			zone.id as zone_id, placement.value, pg_advisory_xact_lock(727004, hashtext($1::text)) is not null as locked
		from (values (1)) as one
			left join tenant on true left join flavor on true left join zone on true left join placement on true`,
	quota: `with open_operations as (
			select count(*)::int as n from (select 1 from operations
				where tenant_id = $1 and status in ('pending', 'running') limit $4) o
		), locked as (
			select resource from quotas where tenant_id = $1 and resource = any($2::text[])
				and (select n from open_operations) < $4
			order by resource collate "C" for update
		), wanted as (select * from unnest($2::text[], $3::bigint[]) as w(resource, n)),
		claimed as (
			update quotas set used = quotas.used + wanted.n, updated_at = now()
			from locked join wanted on wanted.resource = locked.resource
			where quotas.tenant_id = $1 and quotas.resource = locked.resource and quotas.used + wanted.n <= quotas."limit"
			returning quotas.resource
		)
		select (select n from open_operations) as open, (select count(*)::int from claimed) as claimed`,
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
	writes: `with instance as (
			insert into instances (id, tenant_id, name, flavor_id, zone_id, host_id, status, vcpus, memory_mib, disk_gib, labels,
				created_at, updated_at)
			values ($1, $2, $3, $4, $5, $6, 'provisioning', $7, $8, $9, '{}', now(), now()) returning id
		), operation as (
			insert into operations (id, tenant_id, kind, target_type, target_id, status)
			values (gen_random_uuid(), $2, 'instance.create', 'instance', $1, 'pending') returning *
		), outbox_row as (
			insert into outbox (operation_id, queue, job_name, payload)
			select id, 'compute', 'instance.create', jsonb_build_object('instance_id', $1::text) from operation returning id
		), audit as (
			insert into audit_events (id, tenant_id, actor_id, actor_role, action, target_type, target_id, request_id,
				source_address, detail)
			values (gen_random_uuid(), $2, 'bench', 'member', 'instance.create', 'instance', $1, $3, '127.0.0.1',
				jsonb_build_object('host_id', $6::text)) returning id
		)
		select * from operation`,
};

/** As the server keeps it: the next placement window starts after the last host placed on. */
let windowStart = "00000000-0000-0000-0000-000000000000";

function run(client: pg.PoolClient, name: string, values: unknown[]) {
	return client.query({ name: `floor_create_${name}`, text: STATEMENTS[name] ?? "", values });
}

async function createOnce(client: pg.PoolClient, tenantId: string, flavorName: string, zoneName: string, name: string) {
	await client.query("begin");
	try {
		const context = (await run(client, "context", [tenantId, flavorName, zoneName])).rows[0];
		const claim = (
			await run(client, "quota", [
				tenantId,
				["instances", "memory_mib", "vcpus"],
				[1, context.memory_mib, context.vcpus],
				1_000_000,
			])
		).rows[0];
		if (claim.claimed !== 3) throw new Error("quota refused");
		const host = (
			await run(client, "host", [context.zone_id, context.vcpus, context.memory_mib, context.disk_gib, windowStart])
		).rows[0];
		if (!host) throw new Error("no host");
		windowStart = host.id;
		await run(client, "writes", [
			randomUUID(),
			tenantId,
			name,
			context.flavor_id,
			host.zone_id,
			host.id,
			context.vcpus,
			context.memory_mib,
			context.disk_gib,
		]);
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
