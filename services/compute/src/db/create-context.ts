import { type Db, isUuid, OPERATION_SLOT_LOCK_SPACE, runStatement, type Statement } from "@igoudar/db";
import { PLACEMENT_SETTINGS_KEY, type PlacementSettings, placementSettingsOf } from "./settings";

export interface CreateContext {
	/** Undefined when the tenant does not exist. */
	tenant: { dataResidency: string[] | null } | undefined;
	flavor: { id: string; name: string; vcpus: number; memoryMib: number; diskGib: number } | undefined;
	/** Undefined when no zone was asked for, or none has that name or id. */
	zone: { id: string; name: string; jurisdiction: string } | undefined;
	placement: PlacementSettings;
}

/**
 * Everything an instance create reads before it claims anything, and the tenant's operation slot,
 * in one round trip: the tenant held FOR KEY SHARE (a tenant delete waits for the create) and
 * the flavor FOR SHARE (a flavor delete waits for it) until commit, the zone, the placement
 * strategy, then the slot's advisory lock (`claimOperationSlot`). The lock is taken last, when
 * the row is projected, so its holder never waits for the shared locks of another create. A
 * reference may be a name or an id; an id match comes first, as `nameOrId` and `idFirst` order
 * them.
 */
const CREATE_CONTEXT: Statement = {
	name: "instance_create_context",
	// $1 tenant id, $2 flavor ref, $3 flavor ref when uuid-shaped, $4 zone ref or null, $5 zone ref
	// when uuid-shaped, $6 the placement settings key.
	text: `
		with tenant as (
			select data_residency from tenants where id = $1 for key share
		), flavor as (
			select id, name, vcpus, memory_mib, disk_gib from flavors
			where name = $2 or id = $3::uuid
			order by (id = $3::uuid) desc nulls last
			limit 1
			for share
		), zone as (
			select id, name, jurisdiction from zones
			where name = $4 or id = $5::uuid
			order by (id = $5::uuid) desc nulls last
			limit 1
		), placement as (
			select value from platform_settings where key = $6
		)
		select exists (select 1 from tenant) as tenant_found, tenant.data_residency,
			flavor.id as flavor_id, flavor.name as flavor_name, flavor.vcpus, flavor.memory_mib, flavor.disk_gib,
			zone.id as zone_id, zone.name as zone_name, zone.jurisdiction,
			placement.value as placement,
			pg_advisory_xact_lock(${OPERATION_SLOT_LOCK_SPACE}, hashtext($1::text)) is not null as slot_locked
		from (values (1)) as one
			left join tenant on true left join flavor on true left join zone on true left join placement on true`,
};

interface CreateContextRow {
	tenant_found: boolean;
	data_residency: string[] | null;
	flavor_id: string | null;
	flavor_name: string | null;
	vcpus: number | null;
	memory_mib: number | null;
	disk_gib: number | null;
	zone_id: string | null;
	zone_name: string | null;
	jurisdiction: string | null;
	placement: Record<string, unknown> | null;
}

/** Reads a create's references and takes the tenant's operation slot; see `CREATE_CONTEXT`. */
export async function readCreateContext(
	tx: Db,
	tenantId: string,
	flavorRef: string,
	zoneRef: string | undefined,
): Promise<CreateContext> {
	const [row] = await runStatement<CreateContextRow>(tx, CREATE_CONTEXT, [
		tenantId,
		flavorRef,
		isUuid(flavorRef) ? flavorRef : null,
		zoneRef ?? null,
		zoneRef && isUuid(zoneRef) ? zoneRef : null,
		PLACEMENT_SETTINGS_KEY,
	]);
	if (!row) throw new Error("the create context statement returned no row");
	return contextOf(row);
}

function contextOf(row: CreateContextRow): CreateContext {
	return {
		tenant: row.tenant_found ? { dataResidency: row.data_residency } : undefined,
		flavor:
			row.flavor_id && row.flavor_name
				? {
						id: row.flavor_id,
						name: row.flavor_name,
						vcpus: Number(row.vcpus),
						memoryMib: Number(row.memory_mib),
						diskGib: Number(row.disk_gib),
					}
				: undefined,
		zone:
			row.zone_id && row.zone_name && row.jurisdiction
				? { id: row.zone_id, name: row.zone_name, jurisdiction: row.jurisdiction }
				: undefined,
		placement: placementSettingsOf(row.placement),
	};
}

/**
 * `CREATE_CONTEXT` for the creates of a batch, one row per create in their order, without the
 * slot (`lockOperationSlots` takes every tenant's, in order, next).
 */
const CREATE_CONTEXTS: Statement = {
	name: "instance_create_contexts",
	// Arrays, one entry per create: $1 tenant ids, $2 flavor refs, $3 flavor refs when
	// uuid-shaped, $4 zone refs, $5 zone refs when uuid-shaped; $6 the placement settings key.
	text: `
		select coalesce(tenant.found, false) as tenant_found, tenant.data_residency,
			flavor.id as flavor_id, flavor.name as flavor_name, flavor.vcpus, flavor.memory_mib, flavor.disk_gib,
			zone.id as zone_id, zone.name as zone_name, zone.jurisdiction,
			(select value from platform_settings where key = $6) as placement
		from unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[])
			with ordinality as r(tenant_id, flavor_ref, flavor_uuid, zone_ref, zone_uuid, i)
		left join lateral (
			select true as found, data_residency from tenants where id = r.tenant_id for key share
		) tenant on true
		left join lateral (
			select id, name, vcpus, memory_mib, disk_gib from flavors
			where name = r.flavor_ref or id = r.flavor_uuid
			order by (id = r.flavor_uuid) desc nulls last
			limit 1
			for share
		) flavor on true
		left join lateral (
			select id, name, jurisdiction from zones
			where name = r.zone_ref or id = r.zone_uuid
			order by (id = r.zone_uuid) desc nulls last
			limit 1
		) zone on true
		order by r.i`,
};

/** `readCreateContext` for many creates in one statement, without the slot; in their order. */
export async function readCreateContexts(
	tx: Db,
	creates: readonly { tenantId: string; flavorRef: string; zoneRef: string | undefined }[],
): Promise<CreateContext[]> {
	const rows = await runStatement<CreateContextRow>(tx, CREATE_CONTEXTS, [
		creates.map((c) => c.tenantId),
		creates.map((c) => c.flavorRef),
		creates.map((c) => (isUuid(c.flavorRef) ? c.flavorRef : null)),
		creates.map((c) => c.zoneRef ?? null),
		creates.map((c) => (c.zoneRef && isUuid(c.zoneRef) ? c.zoneRef : null)),
		PLACEMENT_SETTINGS_KEY,
	]);
	if (rows.length !== creates.length) throw new Error("the create contexts statement lost a row");
	return rows.map(contextOf);
}

const LOCK_OPERATION_SLOTS: Statement = {
	name: "operation_slots_lock",
	// The tenants sorted before any lock is taken (the subquery's OFFSET keeps the sort below the
	// projection), so two batches that share tenants take their slots in one order.
	text: `
		select count(pg_advisory_xact_lock(${OPERATION_SLOT_LOCK_SPACE}, hashtext(tenant_id::text)))::int as locked
		from (select distinct tenant_id from unnest($1::uuid[]) as t(tenant_id) order by tenant_id offset 0) as tenants`,
};

/** Takes the operation slots (`claimOperationSlot`'s lock) of every tenant given, in order. */
export async function lockOperationSlots(tx: Db, tenantIds: readonly string[]): Promise<void> {
	await runStatement(tx, LOCK_OPERATION_SLOTS, [[...new Set(tenantIds)]]);
}
