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
 * Everything an instance create reads before it claims anything, for one create or a batch, one
 * row per create in their order: the tenant held FOR KEY SHARE (a tenant delete waits for the
 * create) and the flavor FOR SHARE (a flavor delete waits for it) until commit, the zone and the
 * placement strategy. A reference may be a name or an id; an id match comes first, as `nameOrId`
 * and `idFirst` order them. With $7, a single create also takes its tenant's operation slot
 * (`claimOperationSlot`'s advisory lock) in the same round trip, as its row is projected, after
 * the shared locks: its holder never waits for another create's. A batch takes its tenants' slots
 * next, in order (`lockOperationSlots`).
 */
const CREATE_CONTEXTS: Statement = {
	name: "instance_create_contexts",
	// Arrays, one entry per create: $1 tenant ids, $2 flavor refs, $3 flavor refs when
	// uuid-shaped, $4 zone refs, $5 zone refs when uuid-shaped; $6 the placement settings key;
	// $7 whether to take the (one) create's slot.
	text: `
		select coalesce(tenant.found, false) as tenant_found, tenant.data_residency,
			flavor.id as flavor_id, flavor.name as flavor_name, flavor.vcpus, flavor.memory_mib, flavor.disk_gib,
			zone.id as zone_id, zone.name as zone_name, zone.jurisdiction,
			(select value from platform_settings where key = $6) as placement,
			case when $7::boolean
				then pg_advisory_xact_lock(${OPERATION_SLOT_LOCK_SPACE}, hashtext(r.tenant_id::text)) is not null
			end as slot_locked
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

type CreateReferences = { tenantId: string; flavorRef: string; zoneRef: string | undefined };

/** Reads one create's references and takes its tenant's operation slot; see `CREATE_CONTEXTS`. */
export async function readCreateContext(tx: Db, create: CreateReferences): Promise<CreateContext> {
	const [context] = await readContexts(tx, [create], true);
	if (!context) throw new Error("the create context statement returned no row");
	return context;
}

/** The references of a batch's creates, in their order, without the slots; see `CREATE_CONTEXTS`. */
export function readCreateContexts(tx: Db, creates: readonly CreateReferences[]): Promise<CreateContext[]> {
	return readContexts(tx, creates, false);
}

async function readContexts(tx: Db, creates: readonly CreateReferences[], takeSlot: boolean): Promise<CreateContext[]> {
	const rows = await runStatement<CreateContextRow>(tx, CREATE_CONTEXTS, [
		creates.map((c) => c.tenantId),
		creates.map((c) => c.flavorRef),
		creates.map((c) => (isUuid(c.flavorRef) ? c.flavorRef : null)),
		creates.map((c) => c.zoneRef ?? null),
		creates.map((c) => (c.zoneRef && isUuid(c.zoneRef) ? c.zoneRef : null)),
		PLACEMENT_SETTINGS_KEY,
		takeSlot,
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
