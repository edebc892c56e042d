import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import { type Ctx, idempotentResult, type PageRequest, problems, recordAudit, toPage, withDb } from "@igoudar/kit";
import {
	deleteHostIfIdle,
	findHost,
	type HostChanges,
	type HostFilter,
	type HostRecord,
	type HostRow,
	type HostStatus,
	insertHost,
	listHosts,
	lockHost,
	updateHost,
} from "../db/hosts";
import { findZoneByRef } from "../db/zones";

interface Resources {
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
}

export interface HostView {
	id: string;
	name: string;
	zone: string;
	status: HostStatus;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
	cpu_allocation_ratio: number;
	memory_allocation_ratio: number;
	power_idle_w: number | null;
	power_max_w: number | null;
	/** Draw now, from the power profile and the allocation: null without a profile. */
	estimated_power_w: number | null;
	embodied_kgco2e: number | null;
	lifetime_years: number | null;
	capacity: Resources;
	allocated: Resources & { instances: number };
	created_at: string;
	updated_at: string;
}

/**
 * What placement may hand out after the allocation ratios. Rounded down exactly as the claim in
 * db/capacity.ts does (both are IEEE doubles), so the view never promises room the claim refuses.
 */
function capacityOf(row: Pick<HostRow, "vcpus" | "memoryMib" | "diskGib">, cpuRatio: number, memoryRatio: number) {
	return {
		vcpus: Math.floor(row.vcpus * cpuRatio),
		memory_mib: Math.floor(row.memoryMib * memoryRatio),
		disk_gib: row.diskGib,
	};
}

/**
 * A linear power model: idle draw plus the dynamic range in proportion to the physical cores
 * allocated (capped at full load when vCPUs are overcommitted). Coarse, but it lets operators
 * see where energy goes and weigh placement against it.
 */
export function estimatedPower(row: Pick<HostRow, "powerIdleW" | "powerMaxW" | "vcpus" | "vcpusUsed">): number | null {
	if (row.powerIdleW === null || row.powerMaxW === null) return null;
	const load = Math.min(1, row.vcpusUsed / row.vcpus);
	return Math.round(row.powerIdleW + (row.powerMaxW - row.powerIdleW) * load);
}

export function presentHost(row: HostRecord): HostView {
	return {
		id: row.id,
		name: row.name,
		zone: row.zoneName,
		status: row.status,
		vcpus: row.vcpus,
		memory_mib: row.memoryMib,
		disk_gib: row.diskGib,
		cpu_allocation_ratio: row.cpuAllocationRatio,
		memory_allocation_ratio: row.memoryAllocationRatio,
		power_idle_w: row.powerIdleW,
		power_max_w: row.powerMaxW,
		estimated_power_w: estimatedPower(row),
		embodied_kgco2e: row.embodiedKgco2e,
		lifetime_years: row.lifetimeYears,
		capacity: capacityOf(row, row.cpuAllocationRatio, row.memoryAllocationRatio),
		allocated: {
			vcpus: row.vcpusUsed,
			memory_mib: row.memoryMibUsed,
			disk_gib: row.diskGibUsed,
			instances: row.instanceCount,
		},
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

function checkPower(idle: number | null | undefined, max: number | null | undefined): void {
	if (idle !== null && idle !== undefined && max !== null && max !== undefined && max < idle) {
		throw problems.validation(`power_max_w (${max}) is below power_idle_w (${idle}).`, [
			{ field: "body/power_max_w", message: "must be at least power_idle_w" },
		]);
	}
}

function unknownZone(ref: string) {
	return problems.validation(`No zone named ${ref} exists.`, [{ field: "body/zone", message: "not found" }]);
}

export interface HostCreate {
	name: string;
	/** Zone name or id. */
	zone: string;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
	cpu_allocation_ratio?: number;
	memory_allocation_ratio?: number;
	power_idle_w?: number | null;
	power_max_w?: number | null;
	embodied_kgco2e?: number | null;
	lifetime_years?: number | null;
}

export async function hostCreate(ctx: Ctx, input: HostCreate): Promise<HostView> {
	checkPower(input.power_idle_w, input.power_max_w);
	try {
		return await ctx.db.transaction(async (tx) => {
			const zone = await findZoneByRef(tx, input.zone);
			if (!zone) throw unknownZone(input.zone);
			const row = await insertHost(tx, {
				name: input.name,
				zoneId: zone.id,
				vcpus: input.vcpus,
				memoryMib: input.memory_mib,
				diskGib: input.disk_gib,
				cpuAllocationRatio: input.cpu_allocation_ratio ?? 4,
				memoryAllocationRatio: input.memory_allocation_ratio ?? 1,
				powerIdleW: input.power_idle_w ?? null,
				powerMaxW: input.power_max_w ?? null,
				embodiedKgco2e: input.embodied_kgco2e ?? null,
				lifetimeYears: input.lifetime_years ?? null,
			});
			await recordAudit(withDb(ctx, tx), {
				tenantId: null,
				action: "host.create",
				targetType: "host",
				targetId: row.id,
				detail: { ...input, zone_id: zone.id },
			});
			return idempotentResult(withDb(ctx, tx), 201, presentHost({ ...row, zoneName: zone.name }));
		});
	} catch (error) {
		if (isUniqueViolation(error, "hosts_name_key")) throw problems.conflict(`A host named ${input.name} exists.`);
		// The zone was deleted between the lookup and the insert.
		if (isForeignKeyViolation(error)) throw unknownZone(input.zone);
		throw error;
	}
}

export async function hostList(ctx: Ctx, page: PageRequest, filter: HostFilter) {
	return toPage(await listHosts(ctx.db, page, filter), page, presentHost);
}

export async function hostGet(ctx: Ctx, id: string): Promise<HostView> {
	const row = await findHost(ctx.db, id);
	if (!row) throw problems.notFound("host");
	return presentHost(row);
}

export interface HostUpdate {
	status?: HostStatus;
	cpu_allocation_ratio?: number;
	memory_allocation_ratio?: number;
	power_idle_w?: number | null;
	power_max_w?: number | null;
	embodied_kgco2e?: number | null;
	lifetime_years?: number | null;
}

/**
 * Checks and changes the host under its row lock: a placement claim is an UPDATE of the same
 * row, so no claim can land between the check against current allocation and the new ratio.
 */
export async function hostUpdate(ctx: Ctx, id: string, input: HostUpdate): Promise<HostView> {
	return ctx.db.transaction(async (tx) => {
		const host = await lockHost(tx, id);
		if (!host) throw problems.notFound("host");
		const cpuRatio = input.cpu_allocation_ratio ?? host.cpuAllocationRatio;
		const memoryRatio = input.memory_allocation_ratio ?? host.memoryAllocationRatio;
		checkPower(
			input.power_idle_w === undefined ? host.powerIdleW : input.power_idle_w,
			input.power_max_w === undefined ? host.powerMaxW : input.power_max_w,
		);
		const capacity = capacityOf(host, cpuRatio, memoryRatio);
		// Only a ratio being changed is checked: disabling an over-committed host must still work.
		const short: string[] = [];
		if (input.cpu_allocation_ratio !== undefined && capacity.vcpus < host.vcpusUsed) {
			short.push(`${capacity.vcpus} vcpus < ${host.vcpusUsed} allocated`);
		}
		if (input.memory_allocation_ratio !== undefined && capacity.memory_mib < host.memoryMibUsed) {
			short.push(`${capacity.memory_mib} MiB < ${host.memoryMibUsed} MiB allocated`);
		}
		if (short.length > 0) {
			throw problems.conflict(
				`The new allocation ratio would leave less capacity than is allocated: ${short.join("; ")}.`,
			);
		}
		const changes: HostChanges = {
			status: input.status,
			cpuAllocationRatio: input.cpu_allocation_ratio,
			memoryAllocationRatio: input.memory_allocation_ratio,
			powerIdleW: input.power_idle_w,
			powerMaxW: input.power_max_w,
			embodiedKgco2e: input.embodied_kgco2e,
			lifetimeYears: input.lifetime_years,
		};
		await updateHost(tx, id, changes);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "host.update",
			targetType: "host",
			targetId: id,
			detail: { ...input },
		});
		const updated = await findHost(tx, id);
		if (!updated) throw problems.internal();
		return presentHost(updated);
	});
}

export async function hostDelete(ctx: Ctx, id: string): Promise<void> {
	try {
		await ctx.db.transaction(async (tx) => {
			const outcome = await deleteHostIfIdle(tx, id);
			if (outcome === "missing") throw problems.notFound("host");
			if (outcome === "in_use") {
				throw problems.conflict("Instances hold capacity on this host; move or delete them first.");
			}
			await recordAudit(withDb(ctx, tx), { tenantId: null, action: "host.delete", targetType: "host", targetId: id });
		});
	} catch (error) {
		if (isForeignKeyViolation(error)) throw problems.conflict("Instances still reference this host.");
		throw error;
	}
}
