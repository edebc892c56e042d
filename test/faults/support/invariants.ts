import type { Db } from "@igoudar/db";
import type { TestPlatform } from "@igoudar/server/testing";
import { sql } from "drizzle-orm";
import type { Tenancy } from "./fleet";

/**
 * What must hold after any fault, once every operation has ended, checked by direct SQL against
 * the database and the simulated data plane's ledger (not through the code under test):
 * - every accepted operation ended;
 * - no driver effect lost: each succeeded create made its machine exactly once (by its own
 *   idempotency key), a running instance has a machine that is on, a stopped one a machine
 *   that is off, a deleted or failed-and-released one none;
 * - no driver effect duplicated: at most one create per instance, and the machine exists
 *   exactly when creates outnumber deletes;
 * - no quota or capacity leaked: every counter equals a recount of the instances holding
 *   capacity, and the consistency audit reports no drift.
 */

export interface InvariantReport {
	problems: string[];
	drift: number;
	succeeded: number;
	failed: number;
	/** Failed operations by problem code (e.g. `cancelled` by a delete of what was being made). */
	failedBy: Record<string, number>;
}

type Row = Record<string, unknown>;

async function rows<T extends Row>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
	// Db is typed for both drivers; each answers raw SQL with `{ rows }`.
	return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

export async function checkInvariants(
	t: TestPlatform,
	tenancy: Tenancy,
	operationIds: readonly string[],
): Promise<InvariantReport> {
	const db = t.db;
	const problems: string[] = [];
	const ids = sql.join(
		operationIds.map((id) => sql`${id}::uuid`),
		sql`, `,
	);

	const ops = await rows<{ id: string; kind: string; status: string; target_id: string; code: string | null }>(
		db,
		sql`select id, kind, status, target_id, error->>'code' as code from operations where id in (${ids})`,
	);
	const open = ops.filter((op) => op.status === "pending" || op.status === "running");
	if (open.length > 0) problems.push(`${open.length} operations still open`);
	if (ops.length !== operationIds.length) problems.push(`${operationIds.length - ops.length} operations missing`);

	for (const op of ops.filter((o) => o.kind === "instance.create" && o.status === "succeeded")) {
		const [made] = await rows<{ n: number }>(
			db,
			sql`select count(*)::int as n from sim_ledger where idempotency_key = ${`${op.id}/define_machine/do#create`}`,
		);
		if (made?.n !== 1) problems.push(`create ${op.id} succeeded with ${made?.n} machine creations`);
	}

	const instances = await rows<{
		id: string;
		status: string;
		host_id: string | null;
		deleted: boolean;
		power: string | null;
		creates: number;
		deletes: number;
		open_ops: number;
	}>(
		db,
		sql`select i.id, i.status, i.host_id, i.deleted_at is not null as deleted, m.power_state as power,
			(select count(*)::int from sim_ledger l where l.instance_id = i.id and l.effect = 'create') as creates,
			(select count(*)::int from sim_ledger l where l.instance_id = i.id and l.effect = 'delete') as deletes,
			(select count(*)::int from operations o where o.target_id = i.id and o.status in ('pending', 'running')) as open_ops
			from instances i left join sim_machines m on m.instance_id = i.id
			where i.tenant_id = ${tenancy.tenantId}`,
	);
	for (const i of instances) {
		const where = `instance ${i.id} (${i.deleted ? "deleted" : i.status})`;
		if (i.creates > 1) problems.push(`${where}: created ${i.creates} times`);
		if ((i.power !== null) !== (i.creates - i.deletes === 1)) {
			problems.push(`${where}: machine ${i.power ?? "absent"} after ${i.creates} creates, ${i.deletes} deletes`);
		}
		if (i.deleted && i.power !== null) problems.push(`${where}: deleted but its machine is ${i.power}`);
		if (!i.deleted && i.status === "running" && i.power !== "on") problems.push(`${where}: machine ${i.power}`);
		if (!i.deleted && i.status === "stopped" && i.power !== "off") problems.push(`${where}: machine ${i.power}`);
		if (!i.deleted && i.status === "failed" && i.host_id === null && i.power !== null) {
			problems.push(`${where}: released its claims but its machine exists`);
		}
		const settled = ["running", "stopped", "failed"].includes(i.status) || i.deleted;
		if (!settled && i.open_ops === 0) problems.push(`${where}: left in a transition with no operation open`);
	}

	problems.push(...(await storageProblems(db, tenancy, ops)));

	const counters = await rows<{ what: string; stored: number; actual: number }>(
		db,
		sql`with live as (select * from instances where deleted_at is null and host_id is not null)
			select 'quota ' || q.resource as what, q.used::int as stored,
				(case q.resource when 'instances' then (select count(*) from live where tenant_id = q.tenant_id)
					when 'vcpus' then (select coalesce(sum(vcpus), 0) from live where tenant_id = q.tenant_id)
					when 'memory_mib' then (select coalesce(sum(memory_mib), 0) from live where tenant_id = q.tenant_id)
				end)::int as actual
			from quotas q where q.tenant_id = ${tenancy.tenantId} and q.resource in ('instances', 'vcpus', 'memory_mib')
			union all
			select 'host ' || h.id, h.vcpus_used, (select coalesce(sum(vcpus), 0)::int from live where host_id = h.id)
			from hosts h
			union all
			select 'host instances ' || h.id, h.instance_count, (select count(*)::int from live where host_id = h.id)
			from hosts h
			union all
			select 'quota ' || q.resource, q.used::int,
				(case q.resource
					when 'volumes' then (select count(*) from volumes v where v.tenant_id = q.tenant_id and v.deleted_at is null and v.pool_id is not null)
					when 'volume_gib' then (select coalesce(sum(size_gib), 0) from volumes v where v.tenant_id = q.tenant_id and v.deleted_at is null and v.pool_id is not null)
					when 'snapshots' then (select count(*) from snapshots s where s.tenant_id = q.tenant_id and s.deleted_at is null and s.pool_id is not null)
				end)::int
			from quotas q where q.tenant_id = ${tenancy.tenantId} and q.resource in ('volumes', 'volume_gib', 'snapshots')
			union all
			select 'pool ' || p.id, p.allocated_gib,
				((select coalesce(sum(size_gib), 0) from volumes v where v.pool_id = p.id and v.deleted_at is null)
				+ (select coalesce(sum(size_gib), 0) from snapshots s where s.pool_id = p.id and s.deleted_at is null))::int
			from storage_pools p`,
	);
	let drift = 0;
	for (const c of counters) {
		if (c.stored !== c.actual) {
			drift += 1;
			problems.push(`${c.what}: stored ${c.stored}, live ${c.actual}`);
		}
	}
	const audit = await t.request<{ drifts?: unknown[] }>("GET", "/v1/system/consistency", {
		token: await t.operatorToken(),
	});
	if (audit.status !== 200) problems.push(`consistency audit answered ${audit.status}`);
	else if ((audit.body.drifts ?? []).length > 0) {
		drift += audit.body.drifts?.length ?? 0;
		problems.push(`consistency audit: ${JSON.stringify(audit.body.drifts)}`);
	}

	const list = await t.request("GET", `/v1/tenants/${tenancy.tenantId}/instances`, { token: tenancy.token });
	if (list.status !== 200) problems.push(`instance list answered ${list.status} after the faults`);

	return {
		problems,
		drift,
		succeeded: ops.filter((op) => op.status === "succeeded").length,
		failed: ops.filter((op) => op.status === "failed").length,
		failedBy: ops
			.filter((op) => op.status === "failed")
			.reduce<Record<string, number>>((by, op) => {
				const code = op.code ?? "unknown";
				by[code] = (by[code] ?? 0) + 1;
				return by;
			}, {}),
	};
}

/**
 * Storage, checked against the simulated storage data plane: a volume or snapshot exists there
 * exactly while its row holds a pool, never smaller than the row says; an attached volume is
 * attached there to its instance and to nothing otherwise; each succeeded create made it once.
 */
async function storageProblems(
	db: Db,
	tenancy: Tenancy,
	ops: { id: string; kind: string; status: string; target_id: string }[],
): Promise<string[]> {
	const problems: string[] = [];
	const resources = await rows<{
		kind: string;
		id: string;
		status: string;
		holds: boolean;
		size_gib: number;
		instance_id: string | null;
		plane_size: number | null;
		attached_to: string | null;
		instance_live: boolean | null;
	}>(
		db,
		sql`select 'volume' as kind, v.id, v.status, v.pool_id is not null and v.deleted_at is null as holds, v.size_gib,
				v.instance_id, s.size_gib as plane_size, s.attached_to,
				(select i.deleted_at is null from instances i where i.id = v.instance_id) as instance_live
			from volumes v left join sim_volumes s on s.resource_id = v.id where v.tenant_id = ${tenancy.tenantId}
			union all
			select 'snapshot', n.id, n.status, n.pool_id is not null and n.deleted_at is null, n.size_gib, null,
				s.size_gib, null, null
			from snapshots n left join sim_volumes s on s.resource_id = n.id where n.tenant_id = ${tenancy.tenantId}`,
	);
	for (const r of resources) {
		const where = `${r.kind} ${r.id} (${r.status})`;
		if (r.holds !== (r.plane_size !== null)) {
			problems.push(`${where}: ${r.holds ? "holds a pool but has no data" : "has data but holds no pool"}`);
		}
		if (r.holds && r.plane_size !== null && r.plane_size < r.size_gib) {
			problems.push(`${where}: ${r.size_gib} GiB recorded, ${r.plane_size} GiB on the data plane`);
		}
		if (r.kind !== "volume" || !r.holds) continue;
		if (r.status === "in_use" && r.attached_to !== r.instance_id) {
			problems.push(`${where}: attached to ${r.instance_id} but on the data plane to ${r.attached_to}`);
		}
		if (r.status === "available" && (r.instance_id !== null || r.attached_to !== null)) {
			problems.push(`${where}: available but attached (${r.instance_id} / ${r.attached_to})`);
		}
		if (r.instance_id !== null && r.instance_live === false) {
			problems.push(`${where}: attached to instance ${r.instance_id}, which is gone`);
		}
		if (!["available", "in_use", "failed"].includes(r.status)) {
			problems.push(`${where}: left in a transition after every operation ended`);
		}
	}
	for (const op of ops.filter((o) => o.kind === "volume.create" && o.status === "succeeded")) {
		const [made] = await rows<{ n: number }>(
			db,
			sql`select count(*)::int as n from sim_storage_ledger
				where idempotency_key like ${`${op.id}/provision_volume/do#%`} and effect in ('create', 'restore')`,
		);
		if (made?.n !== 1) problems.push(`volume create ${op.id} succeeded with ${made?.n} creations`);
	}
	return problems;
}
