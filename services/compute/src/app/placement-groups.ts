import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import {
	deletePlacementGroupIfEmpty,
	findPlacementGroup,
	insertPlacementGroup,
	listPlacementGroups,
	type PlacementGroupRecord,
} from "../db/placement-groups";

export type PlacementPolicy = "affinity" | "anti-affinity";

export interface PlacementGroupView {
	id: string;
	name: string;
	policy: PlacementPolicy;
	instance_ids: string[];
	created_at: string;
}

export function presentPlacementGroup(row: PlacementGroupRecord): PlacementGroupView {
	return {
		id: row.id,
		name: row.name,
		policy: row.policy,
		instance_ids: row.instanceIds,
		created_at: row.createdAt.toISOString(),
	};
}

export interface PlacementGroupCreate {
	name: string;
	policy: PlacementPolicy;
}

export async function placementGroupCreate(
	ctx: Ctx,
	tenantId: string,
	input: PlacementGroupCreate,
): Promise<PlacementGroupView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const row = await insertPlacementGroup(tx, { tenantId, name: input.name, policy: input.policy });
			await recordAudit(withDb(ctx, tx), {
				tenantId,
				action: "placement_group.create",
				targetType: "placement_group",
				targetId: row.id,
				detail: { name: row.name, policy: row.policy },
			});
			// A new group has no members yet.
			return idempotentResult(withDb(ctx, tx), 201, presentPlacementGroup({ ...row, instanceIds: [] }));
		});
	} catch (error) {
		if (isUniqueViolation(error, "placement_groups_tenant_name_key")) {
			throw problems.conflict(`A placement group named ${input.name} exists in this tenant.`);
		}
		// Only an operator reaches a tenant that does not exist; tenants are checked by the route.
		if (isForeignKeyViolation(error)) throw problems.notFound("tenant");
		throw error;
	}
}

export async function placementGroupList(ctx: Ctx, tenantId: string, page: PageRequest) {
	// The kit answers 404 for a tenant that does not exist before any tenant route runs.
	return toPage(await listPlacementGroups(ctx.db, tenantId, page), page, presentPlacementGroup);
}

export async function placementGroupGet(ctx: Ctx, tenantId: string, id: string): Promise<PlacementGroupView> {
	const row = await findPlacementGroup(ctx.db, tenantId, id);
	if (!row) throw problems.notFound("placement group");
	return presentPlacementGroup(row);
}

export async function placementGroupDelete(ctx: Ctx, tenantId: string, id: string): Promise<void> {
	await ctx.db.transaction(async (tx) => {
		const outcome = await deletePlacementGroupIfEmpty(tx, tenantId, id);
		if (outcome === "missing") throw problems.notFound("placement group");
		if (outcome === "in_use") {
			throw problems.conflict("The placement group still has instances; delete them first.");
		}
		await recordAudit(withDb(ctx, tx), {
			tenantId,
			action: "placement_group.delete",
			targetType: "placement_group",
			targetId: id,
		});
	});
}
