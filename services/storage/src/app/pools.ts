import { findZoneByRef } from "@igoudar/compute";
import { isForeignKeyViolation, isUniqueViolation, type StorageDriverName } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import {
	deletePoolIfEmpty,
	findPool,
	insertPool,
	listPools,
	lockPool,
	type PoolChanges,
	type PoolRecord,
	type PoolRow,
	type PoolStatus,
	updatePool,
} from "../db/pools";

export interface PoolView {
	id: string;
	name: string;
	zone: string;
	storage_class: string;
	driver: StorageDriverName;
	status: PoolStatus;
	capacity_gib: number;
	overcommit_ratio: number;
	allocated_gib: number;
	free_gib: number;
	created_at: string;
	updated_at: string;
}

/**
 * What may be allocated after overcommit, rounded down exactly as the claim's SQL does (both are
 * IEEE doubles), so the view never promises room a claim refuses.
 */
function allocatable(row: Pick<PoolRow, "capacityGib" | "overcommitRatio">): number {
	return Math.floor(row.capacityGib * row.overcommitRatio);
}

export function presentPool(row: PoolRecord): PoolView {
	return {
		id: row.id,
		name: row.name,
		zone: row.zoneName,
		storage_class: row.storageClass,
		driver: row.driver,
		status: row.status,
		capacity_gib: row.capacityGib,
		overcommit_ratio: row.overcommitRatio,
		allocated_gib: row.allocatedGib,
		free_gib: Math.max(0, allocatable(row) - row.allocatedGib),
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

function unknownZone(ref: string, field = "body/zone") {
	return problems.validation(`No zone named ${ref} exists.`, [{ field, message: "not found" }]);
}

export interface PoolCreate {
	name: string;
	/** Zone name or id. */
	zone: string;
	capacity_gib: number;
	storage_class: string;
	driver?: StorageDriverName;
	overcommit_ratio?: number;
}

export async function poolCreate(ctx: Ctx, input: PoolCreate): Promise<PoolView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const zone = await findZoneByRef(tx, input.zone);
			if (!zone) throw unknownZone(input.zone);
			const row = await insertPool(tx, {
				name: input.name,
				zoneId: zone.id,
				storageClass: input.storage_class,
				driver: input.driver ?? "simulated",
				capacityGib: input.capacity_gib,
				overcommitRatio: input.overcommit_ratio ?? 1,
			});
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "storage_pool.create",
				targetType: "storage_pool",
				targetId: row.id,
				detail: { ...input, zone_id: zone.id },
			});
			return idempotentResult(withDb(ctx, tx), 201, presentPool({ ...row, zoneName: zone.name }));
		});
	} catch (error) {
		if (isUniqueViolation(error, "storage_pools_name_key")) {
			throw problems.conflict(`A storage pool named ${input.name} exists.`);
		}
		// The zone was deleted between the lookup and the insert.
		if (isForeignKeyViolation(error)) throw unknownZone(input.zone);
		throw error;
	}
}

export interface PoolFilter {
	/** Zone name or id. */
	zone?: string;
	storage_class?: string;
	status?: PoolStatus;
}

export async function poolList(ctx: Ctx, page: PageRequest, filter: PoolFilter) {
	let zoneId: string | undefined;
	if (filter.zone !== undefined) {
		const zone = await findZoneByRef(ctx.db, filter.zone);
		// An unknown zone holds no pools: an empty page, as for any other filter that matches nothing.
		if (!zone) return { items: [], next_page_token: null };
		zoneId = zone.id;
	}
	const rows = await listPools(ctx.db, page, { zoneId, storageClass: filter.storage_class, status: filter.status });
	return toPage(rows, page, presentPool);
}

export async function poolGet(ctx: Ctx, id: string): Promise<PoolView> {
	const row = await findPool(ctx.db, id);
	if (!row) throw problems.notFound("storage pool");
	return presentPool(row);
}

export interface PoolUpdate {
	status?: PoolStatus;
	capacity_gib?: number;
	overcommit_ratio?: number;
}

/**
 * Checks and changes the pool under its row lock: a claim is an UPDATE of the same row, so none
 * can land between the check against the current allocation and the new capacity.
 */
export async function poolUpdate(ctx: Ctx, id: string, input: PoolUpdate): Promise<PoolView> {
	return ctx.db.transaction(async (tx) => {
		const pool = await lockPool(tx, id);
		if (!pool) throw problems.notFound("storage pool");
		const next = {
			capacityGib: input.capacity_gib ?? pool.capacityGib,
			overcommitRatio: input.overcommit_ratio ?? pool.overcommitRatio,
		};
		// Only a change of capacity or ratio is checked: disabling an over-full pool must still work.
		const resizing = input.capacity_gib !== undefined || input.overcommit_ratio !== undefined;
		if (resizing && allocatable(next) < pool.allocatedGib) {
			throw problems.conflict(
				`The pool would allow ${allocatable(next)} GiB after overcommit, less than the ${pool.allocatedGib} GiB allocated on it.`,
			);
		}
		const changes: PoolChanges = {
			status: input.status,
			capacityGib: input.capacity_gib,
			overcommitRatio: input.overcommit_ratio,
		};
		await updatePool(tx, id, changes);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "storage_pool.update",
			targetType: "storage_pool",
			targetId: id,
			detail: { ...input },
		});
		const updated = await findPool(tx, id);
		if (!updated) throw problems.internal();
		return presentPool(updated);
	});
}

export async function poolDelete(ctx: Ctx, id: string): Promise<void> {
	try {
		await ctx.db.transaction(async (tx) => {
			const outcome = await deletePoolIfEmpty(tx, id);
			if (outcome === "missing") throw problems.notFound("storage pool");
			if (outcome === "in_use") {
				throw problems.conflict("Volumes or snapshots hold space on this pool; delete them first.");
			}
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "storage_pool.delete",
				targetType: "storage_pool",
				targetId: id,
			});
		});
	} catch (error) {
		if (isForeignKeyViolation(error)) throw problems.conflict("Volumes or snapshots still refer to this pool.");
		throw error;
	}
}
