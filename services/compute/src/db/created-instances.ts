import { type Db, newId, runStatement, type Statement } from "@igoudar/db";
import { assertJobPayload, type OperationRow } from "@igoudar/jobs";
import type { Ctx } from "@igoudar/kit";
import { computeJobs } from "../jobs";
import type { InstanceRow } from "./instances";

const createJob = computeJobs["instance.create"];

/**
 * The writes of a batch of creates in one fixed statement: every instance, its `instance.create`
 * operation, the operation's outbox row and the create's audit event, from arrays (one entry a
 * create) so nothing is built per create. The rows are what `insertInstancesAlongside`,
 * `enqueueOperation` and `auditAlongside` write for one create; the one-create path uses those.
 */
const WRITE_CREATED_INSTANCES: Statement = {
	name: "instance_create_batch_writes",
	// One entry a create: $1 instance ids, $2 tenants, $3 names, $4 flavor ids, $5 zone ids,
	// $6 host ids, $7 vcpus, $8 memory, $9 disk, $10 labels (JSON text), $11 operation ids,
	// $12 audit event ids, $13 actor ids, $14 actor roles, $15 request ids, $16 source addresses,
	// $17 flavor names. Then $18 the time written, $19 the job's queue, $20 its name.
	text: `
		with created as (
			select * from unnest(
				$1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::int[], $8::int[], $9::int[],
				$10::text[], $11::uuid[], $12::uuid[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[]
			) as c(id, tenant_id, name, flavor_id, zone_id, host_id, vcpus, memory_mib, disk_gib,
				labels, operation_id, audit_id, actor_id, actor_role, request_id, source_address, flavor_name)
		), instance_rows as (
			insert into instances (id, tenant_id, name, flavor_id, zone_id, host_id, status, vcpus, memory_mib, disk_gib,
				labels, created_at, updated_at)
			select id, tenant_id, name, flavor_id, zone_id, host_id, 'provisioning', vcpus, memory_mib, disk_gib,
				labels::jsonb, $18::timestamptz, $18::timestamptz
			from created
			returning id
		), operation_rows as (
			insert into operations (id, tenant_id, kind, target_type, target_id, status, created_at, updated_at)
			select operation_id, tenant_id, 'instance.create', 'instance', id, 'pending', $18::timestamptz, $18::timestamptz
			from created
			returning id
		), outbox_rows as (
			insert into outbox (operation_id, queue, job_name, payload)
			select operation_id, $19, $20, jsonb_build_object('instance_id', id::text) from created
			returning id
		), audit_rows as (
			insert into audit_events (id, tenant_id, actor_id, actor_role, action, target_type, target_id, request_id,
				source_address, detail)
			select audit_id, tenant_id, actor_id, actor_role, 'instance.create', 'instance', id::text, request_id,
				source_address, jsonb_build_object('flavor', flavor_name, 'host_id', host_id::text)
			from created
			returning id
		)
		select (select count(*) from instance_rows)::int as instances, (select count(*) from operation_rows)::int as operations,
			(select count(*) from outbox_rows)::int as queued, (select count(*) from audit_rows)::int as audited`,
};

export interface CreatedInstanceWrite {
	ctx: Ctx;
	instance: InstanceRow;
	flavorName: string;
}

/**
 * Writes a batch's instances (every column given, `createdAt` the time written) with their
 * operations, outbox rows and audit events; returns each create's operation as written.
 */
export async function writeCreatedInstances(
	tx: Db,
	creates: readonly CreatedInstanceWrite[],
	now: Date,
): Promise<OperationRow[]> {
	const operations: OperationRow[] = creates.map(({ instance }) => {
		assertJobPayload(createJob, { instance_id: instance.id });
		return {
			id: newId(),
			tenantId: instance.tenantId,
			kind: "instance.create",
			targetType: "instance",
			targetId: instance.id,
			status: "pending",
			progress: 0,
			state: {},
			error: null,
			attempts: 0,
			fence: 0,
			createdAt: now,
			updatedAt: now,
			startedAt: null,
			completedAt: null,
		};
	});
	const column = <T>(pick: (create: CreatedInstanceWrite) => T) => creates.map(pick);
	const [row] = await runStatement<{ instances: number; operations: number; queued: number; audited: number }>(
		tx,
		WRITE_CREATED_INSTANCES,
		[
			column((c) => c.instance.id),
			column((c) => c.instance.tenantId),
			column((c) => c.instance.name),
			column((c) => c.instance.flavorId),
			column((c) => c.instance.zoneId),
			column((c) => c.instance.hostId),
			column((c) => c.instance.vcpus),
			column((c) => c.instance.memoryMib),
			column((c) => c.instance.diskGib),
			column((c) => JSON.stringify(c.instance.labels)),
			operations.map((operation) => operation.id),
			creates.map(() => newId()),
			column((c) => c.ctx.actor.id),
			column((c) => c.ctx.actor.role),
			column((c) => c.ctx.requestId),
			column((c) => c.ctx.sourceAddress),
			column((c) => c.flavorName),
			now.toISOString(),
			createJob.queue,
			createJob.name,
		],
	);
	const n = creates.length;
	if (!row || row.instances !== n || row.operations !== n || row.queued !== n || row.audited !== n) {
		throw new Error(`a batch of ${n} creates wrote ${JSON.stringify(row)}`);
	}
	return operations;
}
