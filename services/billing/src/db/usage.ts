import type { Db } from "@igoudar/db";
import { instanceEvents, instances, invoices, storageEvents } from "@igoudar/db";
import { sql } from "drizzle-orm";
import type { ResourceLifetime, ResourceType } from "../domain/metering";

/** An instant given in microseconds since the epoch, exactly, as a timestamptz. */
export const atMicros = (micros: bigint) =>
	sql`(timestamptz 'epoch' + ${micros.toString()}::bigint * interval '1 microsecond')`;

/** A timestamptz as exact microseconds since the epoch (text, so no float carries it). */
const micros = (column: unknown) => sql<string>`((extract(epoch from ${column}) * 1000000)::bigint)::text`;

/** `execute` answers the driver's own result; node-postgres and PGlite both carry `rows`. */
export function rowsOf<Row>(result: unknown): Row[] {
	return (result as { rows: Row[] }).rows;
}

interface EventRow {
	resource_id: string;
	status: string;
	at_micros: string;
	size_gib: number | null;
	vcpus: number | null;
	memory_mib: number | null;
}

function groupLifetimes(type: ResourceType, rows: EventRow[], into: ResourceLifetime[]): void {
	let current: ResourceLifetime | undefined;
	for (const row of rows) {
		if (current?.id !== row.resource_id) {
			current = { type, id: row.resource_id, vcpus: row.vcpus, memoryMib: row.memory_mib, events: [] };
			into.push(current);
		}
		current.events.push({ status: row.status, atMicros: BigInt(row.at_micros), sizeGib: row.size_gib });
	}
}

/**
 * The lifecycle events of a tenant's resources recorded before `toMicros`, grouped by resource,
 * leaving out resources whose lifetime ended (`deleted`) at or before `fromMicros`. Instances get
 * their size from the instance row, which is kept after deletion.
 */
export async function loadLifetimes(
	db: Db,
	tenantId: string,
	fromMicros: bigint,
	toMicros: bigint,
): Promise<ResourceLifetime[]> {
	const from = atMicros(fromMicros);
	const to = atMicros(toMicros);
	const instanceRows = rowsOf<EventRow>(
		await db.execute(sql`
		select e.instance_id as resource_id, e.status, ${micros(sql`e.at`)} as at_micros,
			null::int as size_gib, i.vcpus, i.memory_mib
		from ${instanceEvents} e
		left join ${instances} i on i.id = e.instance_id
		where e.tenant_id = ${tenantId} and e.at < ${to}
			and not exists (
				select 1 from ${instanceEvents} d
				where d.instance_id = e.instance_id and d.status = 'deleted' and d.at <= ${from}
			)
		order by e.instance_id, e.at, e.id`),
	);
	const storageRows = rowsOf<EventRow & { resource_type: "volume" | "snapshot" }>(
		await db.execute(sql`
		select e.resource_type, e.resource_id, e.status, ${micros(sql`e.at`)} as at_micros, e.size_gib,
			null::int as vcpus, null::int as memory_mib
		from ${storageEvents} e
		where e.tenant_id = ${tenantId} and e.at < ${to}
			and not exists (
				select 1 from ${storageEvents} d
				where d.resource_id = e.resource_id and d.status = 'deleted' and d.at <= ${from}
			)
		order by e.resource_type, e.resource_id, e.at, e.id`),
	);
	const lifetimes: ResourceLifetime[] = [];
	groupLifetimes("instance", instanceRows, lifetimes);
	groupLifetimes(
		"volume",
		storageRows.filter((row) => row.resource_type === "volume"),
		lifetimes,
	);
	groupLifetimes(
		"snapshot",
		storageRows.filter((row) => row.resource_type === "snapshot"),
		lifetimes,
	);
	return lifetimes;
}

/**
 * Tenants that may owe something for the month starting at `periodStart` and have no invoice for
 * it yet: every tenant with a resource event before its end (deleted tenants included: their
 * history outlives them), in id order from `after`. A run cut off half-way resumes with exactly
 * the tenants still missing; the unique key still decides under parallel runs.
 */
export async function tenantsToInvoice(
	db: Db,
	periodStart: Date,
	endMicros: bigint,
	after: string | undefined,
	limit: number,
): Promise<string[]> {
	const end = atMicros(endMicros);
	const start = after ?? "00000000-0000-0000-0000-000000000000";
	const rows = rowsOf<{ tenant_id: string }>(
		await db.execute(sql`
		select tenant_id from (
			select tenant_id from ${instanceEvents} where at < ${end} and tenant_id > ${start}::uuid
			union
			select tenant_id from ${storageEvents} where at < ${end} and tenant_id > ${start}::uuid
		) tenants_with_events
		where not exists (
			select 1 from ${invoices} i where i.tenant_id = tenants_with_events.tenant_id and i.period_start = ${periodStart}
		)
		order by tenant_id
		limit ${limit}`),
	);
	return rows.map((row) => row.tenant_id);
}
