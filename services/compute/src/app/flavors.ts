import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import { deleteFlavorIfUnused, type FlavorRow, findFlavor, insertFlavor, listFlavors } from "../db/flavors";

export interface FlavorView {
	id: string;
	name: string;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
	created_at: string;
}

export function presentFlavor(row: FlavorRow): FlavorView {
	return {
		id: row.id,
		name: row.name,
		vcpus: row.vcpus,
		memory_mib: row.memoryMib,
		disk_gib: row.diskGib,
		created_at: row.createdAt.toISOString(),
	};
}

export interface FlavorCreate {
	name: string;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
}

export async function flavorCreate(ctx: Ctx, input: FlavorCreate): Promise<FlavorView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const row = await insertFlavor(tx, {
				name: input.name,
				vcpus: input.vcpus,
				memoryMib: input.memory_mib,
				diskGib: input.disk_gib,
			});
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "flavor.create",
				targetType: "flavor",
				targetId: row.id,
				detail: { ...input },
			});
			return idempotentResult(withDb(ctx, tx), 201, presentFlavor(row));
		});
	} catch (error) {
		if (isUniqueViolation(error, "flavors_name_key")) throw problems.conflict(`A flavor named ${input.name} exists.`);
		throw error;
	}
}

/** Every role lists flavors: tenants choose one when they create an instance. */
export async function flavorList(ctx: Ctx, page: PageRequest) {
	return toPage(await listFlavors(ctx.db, page), page, presentFlavor);
}

export async function flavorGet(ctx: Ctx, id: string): Promise<FlavorView> {
	const row = await findFlavor(ctx.db, id);
	if (!row) throw problems.notFound("flavor");
	return presentFlavor(row);
}

export async function flavorDelete(ctx: Ctx, id: string): Promise<void> {
	try {
		await ctx.db.transaction(async (tx) => {
			const outcome = await deleteFlavorIfUnused(tx, id);
			if (outcome === "missing") throw problems.notFound("flavor");
			if (outcome === "in_use") throw problems.conflict("Live instances use this flavor; delete them first.");
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "flavor.delete",
				targetType: "flavor",
				targetId: id,
			});
		});
	} catch (error) {
		// An instance created meanwhile, or deleted instances whose rows are kept for billing.
		if (isForeignKeyViolation(error)) {
			throw problems.conflict("Instances (live, or deleted and kept for billing) still reference this flavor.");
		}
		throw error;
	}
}
