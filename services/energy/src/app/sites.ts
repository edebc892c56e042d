import { findZoneByRef } from "@igoudar/compute";
import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import { findSite, insertSite, listSites, type SiteRecord } from "../db/sites";

export interface SiteView {
	id: string;
	name: string;
	/** Zone names. */
	zones: string[];
	created_at: string;
	updated_at: string;
}

export function presentSite(row: SiteRecord): SiteView {
	return {
		id: row.id,
		name: row.name,
		zones: row.zones.map((zone) => zone.name),
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

export interface SiteCreate {
	name: string;
	/** Zone names or ids. */
	zones: string[];
}

export async function siteCreate(ctx: Ctx, input: SiteCreate): Promise<SiteView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const zoneIds: string[] = [];
			for (const [index, ref] of input.zones.entries()) {
				const zone = await findZoneByRef(tx, ref);
				if (!zone) {
					throw problems.validation(`No zone named ${ref} exists.`, [
						{ field: `body/zones/${index}`, message: "not found" },
					]);
				}
				if (zoneIds.includes(zone.id)) {
					throw problems.validation(`Zone ${ref} is named twice.`, [
						{ field: `body/zones/${index}`, message: "duplicate" },
					]);
				}
				zoneIds.push(zone.id);
			}
			const row = await insertSite(tx, input.name, zoneIds);
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "site.create",
				targetType: "site",
				targetId: row.id,
				detail: { name: input.name, zones: input.zones, zone_ids: zoneIds },
			});
			const created = await findSite(tx, row.id);
			if (!created) throw problems.internal();
			return idempotentResult(withDb(ctx, tx), 201, presentSite(created));
		});
	} catch (error) {
		if (isUniqueViolation(error, "energy_sites_name_key"))
			throw problems.conflict(`A site named ${input.name} exists.`);
		if (isUniqueViolation(error, "energy_site_zones_zone_key")) {
			throw problems.conflict(
				"A zone can be fed by one site only; one of these zones already belongs to another site.",
			);
		}
		// A zone was deleted between the lookup and the insert.
		if (isForeignKeyViolation(error)) throw problems.validation("A zone named in zones no longer exists.");
		throw error;
	}
}

export async function siteList(ctx: Ctx, page: PageRequest) {
	return toPage(await listSites(ctx.db, page), page, presentSite);
}

export async function siteGet(ctx: Ctx, id: string): Promise<SiteView> {
	const row = await findSite(ctx.db, id);
	if (!row) throw problems.notFound("site");
	return presentSite(row);
}
