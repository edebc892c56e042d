import { type Db, type InstanceStatus, isForeignKeyViolation, isUniqueViolation, newId } from "@igoudar/db";
import { cancelOpenOperations, enqueueOperation, type OperationView, presentOperation } from "@igoudar/jobs";
import {
	auditAlongside,
	type Ctx,
	claimOperationSlot,
	idempotentResult,
	type PageRequest,
	problems,
	recordAudit,
	toPage,
	withDb,
} from "@igoudar/kit";
import {
	type CandidateFilter,
	candidateHosts,
	claimBestHost,
	lockPlacementGroup,
	type PlacedHost,
} from "../db/capacity";
import { type CreateContext, readCreateContext } from "../db/create-context";
import {
	findInstance,
	type InstanceRecord,
	type InstanceRow,
	insertInstancesAlongside,
	listInstances,
	transitionInstance,
} from "../db/instances";
import { findPlacementGroupIdByRef } from "../db/placement-groups";
import type { ComputeDeps } from "../deps";
import { type ComputeJobName, computeJobs } from "../jobs";
import { claimHostCapacity, claimInstanceQuota } from "./claims";
import { attachVolumesToNewInstance, lockVolumesForInstance } from "./instance-volumes";

export interface InstanceView {
	id: string;
	name: string;
	flavor: string;
	zone: string;
	status: InstanceStatus;
	placement_group: string | null;
	volume_ids: string[];
	labels: Record<string, string>;
	vcpus: number;
	memory_mib: number;
	disk_gib: number;
	created_at: string;
	updated_at: string;
}

export function presentInstance(row: InstanceRecord): InstanceView {
	return {
		id: row.id,
		name: row.name,
		flavor: row.flavorName,
		zone: row.zoneName,
		status: row.status,
		placement_group: row.placementGroupName,
		volume_ids: row.volumeIds,
		labels: row.labels,
		vcpus: row.vcpus,
		memory_mib: row.memoryMib,
		disk_gib: row.diskGib,
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

/** A create's 202: the instance as written and the operation that provisions it. */
export interface CreatedInstance {
	instance: InstanceView;
	operation: OperationView;
}

export interface InstanceCreate {
	name: string;
	flavor: string;
	zone?: string;
	placement_group?: string;
	volume_ids?: string[];
	labels?: Record<string, string>;
}

function unknownReference(field: string, value: string) {
	return problems.validation(`No ${field} named ${value} exists.`, [{ field: `body/${field}`, message: "not found" }]);
}

/**
 * One transaction, ordered so the locks that serialise one tenant's requests are held for the
 * fewest round trips: one statement reads the references under shared locks (tenant, flavor,
 * zone, placement strategy) and then takes the tenant's operation slot; the placement group and
 * the volumes when asked for; one statement counts the slot and claims every quota row; one
 * chooses and claims a host; one writes the instance, its operation, outbox row and audit event.
 * Without a group or volumes that is four statements between BEGIN and COMMIT. Any refusal rolls
 * all of it back, so a 422, 429 or 503 leaves nothing claimed. The answer is built from what was
 * written, not read back.
 */
export async function instanceCreate(
	ctx: Ctx,
	deps: ComputeDeps,
	tenantId: string,
	input: InstanceCreate,
): Promise<CreatedInstance> {
	let created: CreatedInstance;
	try {
		created = await ctx.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			// One round trip: the tenant and flavor under shared locks, the zone, the placement
			// strategy, and then the tenant's operation slot (no holder of it waits for those).
			const context = await readCreateContext(db, { tenantId, flavorRef: input.flavor, zoneRef: input.zone });
			const { tenant, flavor } = context;
			if (!tenant) throw problems.notFound("tenant");
			if (!flavor) throw unknownReference("flavor", input.flavor);
			let zoneId: string | undefined;
			if (input.zone) zoneId = residentZone(context.zone, input.zone, tenant.dataResidency).id;
			const { strategy } = context.placement;

			let group: Awaited<ReturnType<typeof lockPlacementGroup>>;
			let groupId: string | undefined;
			if (input.placement_group) {
				const found = await findPlacementGroupIdByRef(db, tenantId, input.placement_group);
				group = found ? await lockPlacementGroup(db, tenantId, found) : undefined;
				if (!found || !group) throw unknownReference("placement_group", input.placement_group);
				groupId = found;
			}
			const attach = await lockVolumesForInstance(db, tenantId, input.volume_ids ?? [], zoneId);
			zoneId = attach.zoneId;

			const size = { vcpus: flavor.vcpus, memoryMib: flavor.memoryMib, diskGib: flavor.diskGib };
			// The slot's count and every quota row in one statement: 429 at the cap, 422 short.
			await claimInstanceQuota(db, tenantId, size, deps.maxOpenOperationsPerTenant);
			const host = await placeInstance(db, {
				size,
				zoneId,
				jurisdictions: tenant.dataResidency,
				excludeHostIds: group?.policy === "anti-affinity" ? [...group.memberHostIds] : [],
				onlyHostId: group?.policy === "affinity" ? group.memberHostIds[0] : undefined,
				strategy,
			});
			if (!host) {
				throw problems.noCapacity(
					group
						? `No host has room for ${flavor.name} under the ${group.policy} policy of the placement group.`
						: `No host has room for ${flavor.name} within the allowed zones.`,
				);
			}
			const now = new Date();
			const instance: InstanceRow = {
				id: newId(),
				tenantId,
				name: input.name,
				flavorId: flavor.id,
				zoneId: host.zoneId,
				hostId: host.id,
				placementGroupId: groupId ?? null,
				status: "provisioning",
				...size,
				labels: input.labels ?? {},
				createdAt: now,
				updatedAt: now,
				deletedAt: null,
			};
			// The instance, its operation, the outbox row and the audit event in one statement.
			const operation = await enqueueOperation(
				tx,
				{
					tenantId,
					kind: "instance.create",
					targetType: "instance",
					targetId: instance.id,
					job: computeJobs["instance.create"],
					payload: { instance_id: instance.id },
				},
				[
					insertInstancesAlongside(db, [instance]),
					auditAlongside(withDb(ctx, db), {
						tenantId,
						action: "instance.create",
						targetType: "instance",
						targetId: instance.id,
						detail: { flavor: flavor.name, host_id: host.id },
					}),
				],
			);
			await attachVolumesToNewInstance(db, attach.volumeIds, instance.id);
			const record: InstanceRecord = {
				...instance,
				flavorName: flavor.name,
				zoneName: host.zoneName,
				placementGroupName: group?.name ?? null,
				volumeIds: [...attach.volumeIds].sort(),
			};
			return idempotentResult(withDb(ctx, db), 202, {
				instance: presentInstance(record),
				operation: presentOperation(operation),
			});
		});
	} catch (error) {
		if (isUniqueViolation(error, "instances_tenant_name_key")) {
			throw problems.conflict(`An instance named ${input.name} exists in this tenant.`);
		}
		// A reference (flavor, zone, group) removed by a concurrent delete.
		if (isForeignKeyViolation(error)) throw problems.conflict("A resource this instance refers to was just deleted.");
		throw error;
	}
	deps.afterCommit();
	return created;
}

function residentZone(zone: CreateContext["zone"], ref: string, dataResidency: string[] | null) {
	if (!zone) throw unknownReference("zone", ref);
	if (dataResidency && !dataResidency.includes(zone.jurisdiction)) {
		throw problems.validation(
			`Zone ${zone.name} is in ${zone.jurisdiction}, outside the tenant's data residency (${dataResidency.join(", ")}).`,
			[{ field: "body/zone", message: "outside data residency" }],
		);
	}
	return zone;
}

/**
 * Picks and claims a host: first in one statement among hosts no parallel create is claiming;
 * when all that fit are being claimed, by ranking and waiting for each in turn, since a parallel
 * create may roll back and leave room. A failed claim moves on to the next candidate, and an
 * exhausted page asks for more.
 */
async function placeInstance(db: Db, filter: CandidateFilter): Promise<PlacedHost | undefined> {
	const fast = await claimBestHost(db, filter);
	if (fast) return fast;
	const excluded = [...filter.excludeHostIds];
	for (let round = 0; round < 4; round++) {
		const candidates = await candidateHosts(db, { ...filter, excludeHostIds: excluded });
		if (candidates.length === 0) return undefined;
		for (const candidate of candidates) {
			excluded.push(candidate.id);
			if (await claimHostCapacity(db, candidate.id, filter.size)) return candidate;
		}
	}
	return undefined;
}

export async function instanceList(ctx: Ctx, tenantId: string, page: PageRequest, filter: { status?: InstanceStatus }) {
	return toPage(await listInstances(ctx.db, tenantId, page, filter), page, presentInstance);
}

export async function instanceGet(ctx: Ctx, tenantId: string, id: string): Promise<InstanceView> {
	const row = await findInstance(ctx.db, tenantId, id);
	if (!row) throw problems.notFound("instance");
	return presentInstance(row);
}

/** Which statuses each action may start from, and the transitional status it moves to. */
const ACTIONS: Record<"start" | "stop" | "reboot" | "delete", { from: InstanceStatus[]; to: InstanceStatus }> = {
	start: { from: ["stopped"], to: "starting" },
	stop: { from: ["running"], to: "stopping" },
	reboot: { from: ["running"], to: "rebooting" },
	// Whatever is under way is cancelled and compensated first (the delete saga settles it), so a
	// create that is stuck or slow never leaves the tenant without a way out.
	delete: {
		from: ["provisioning", "running", "stopping", "stopped", "starting", "rebooting", "failed"],
		to: "deleting",
	},
};

export type InstanceAction = keyof typeof ACTIONS;

export async function instanceAction(
	ctx: Ctx,
	deps: ComputeDeps,
	tenantId: string,
	id: string,
	action: InstanceAction,
): Promise<{ operation: OperationView }> {
	const rule = ACTIONS[action];
	const accepted = await ctx.db.transaction(async (tx) => {
		const db = tx as unknown as Db;
		const current = await findInstance(db, tenantId, id);
		if (!current) throw problems.notFound("instance");
		const moved = await transitionInstance(db, id, rule.from, rule.to);
		if (!moved) {
			throw problems.invalidState(
				`Cannot ${action} an instance that is ${current.status}; allowed from: ${rule.from.join(", ")}.`,
			);
		}
		const job = computeJobs[`instance.${action}` as ComputeJobName];
		let cancelled: string[] = [];
		if (action === "delete") {
			// In this transaction, after the instance row lock: a run of the operation in progress
			// is superseded at its next write, and whichever run takes it next compensates it.
			cancelled = await cancelOpenOperations(db, id, `The instance was deleted while it was ${current.status}.`);
		}
		// A delete is never refused for the cap: it is the way back under it, and an instance can
		// have only one (it moves to `deleting`), so deletes cannot flood.
		if (action !== "delete") await claimOperationSlot(db, tenantId, deps.maxOpenOperationsPerTenant);
		const op = await enqueueOperation(tx, {
			tenantId,
			kind: job.name,
			targetType: "instance",
			targetId: id,
			job,
			payload: { instance_id: id },
		});
		await recordAudit(withDb(ctx, db), {
			tenantId,
			action: job.name,
			targetType: "instance",
			targetId: id,
			...(cancelled.length > 0 ? { detail: { cancelled_operations: cancelled } } : {}),
		});
		return idempotentResult(withDb(ctx, db), 202, { operation: presentOperation(op) });
	});
	deps.afterCommit();
	return accepted;
}
