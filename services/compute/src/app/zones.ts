import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import { deleteZoneIfUnused, findZone, insertZone, listZones, type ZoneRow } from "../db/zones";

export interface ZoneView {
	id: string;
	name: string;
	jurisdiction: string;
	created_at: string;
}

export function presentZone(row: ZoneRow): ZoneView {
	return { id: row.id, name: row.name, jurisdiction: row.jurisdiction, created_at: row.createdAt.toISOString() };
}

export interface ZoneCreate {
	name: string;
	jurisdiction: string;
}

export async function zoneCreate(ctx: Ctx, input: ZoneCreate): Promise<ZoneView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const row = await insertZone(tx, { name: input.name, jurisdiction: input.jurisdiction });
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "zone.create",
				targetType: "zone",
				targetId: row.id,
				detail: { name: row.name, jurisdiction: row.jurisdiction },
			});
			return idempotentResult(withDb(ctx, tx), 201, presentZone(row));
		});
	} catch (error) {
		if (isUniqueViolation(error, "zones_name_key")) throw problems.conflict(`A zone named ${input.name} exists.`);
		throw error;
	}
}

/** Every role lists zones: tenants pick one by name when they place an instance. */
export async function zoneList(ctx: Ctx, page: PageRequest) {
	return toPage(await listZones(ctx.db, page), page, presentZone);
}

export async function zoneGet(ctx: Ctx, id: string): Promise<ZoneView> {
	const row = await findZone(ctx.db, id);
	if (!row) throw problems.notFound("zone");
	return presentZone(row);
}

export async function zoneDelete(ctx: Ctx, id: string): Promise<void> {
	try {
		await ctx.db.transaction(async (tx) => {
			const outcome = await deleteZoneIfUnused(tx, id);
			if (outcome === "missing") throw problems.notFound("zone");
			if (outcome === "in_use") throw problems.conflict("Hosts still stand in this zone; delete them first.");
			await recordAudit(withDb(ctx, tx), { tenantId: null, action: "zone.delete", targetType: "zone", targetId: id });
		});
	} catch (error) {
		// A host added meanwhile, or instances (live or kept for billing) that ran in the zone.
		if (isForeignKeyViolation(error)) {
			throw problems.conflict("The zone is still referenced by hosts or by instances that ran in it.");
		}
		throw error;
	}
}
