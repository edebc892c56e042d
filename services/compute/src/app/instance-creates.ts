import { claimQuotasTogether, type Db, newId } from "@igoudar/db";
import { Coalescer, failedWith, type ItemOutcome, presentOperation, succeeded } from "@igoudar/jobs";
import type { Ctx } from "@igoudar/kit";
import { type CandidateFilter, claimHostsFor, type PlacedHost } from "../db/capacity";
import { type CreateContext, lockOperationSlots, readCreateContexts } from "../db/create-context";
import { writeCreatedInstances } from "../db/created-instances";
import type { InstanceRow } from "../db/instances";
import type { ComputeDeps } from "../deps";
import { instanceQuota } from "./claims";
import { type CreatedInstance, type InstanceCreate, instanceCreate, presentInstance } from "./instances";

interface CreateRequest {
	ctx: Ctx;
	tenantId: string;
	input: InstanceCreate;
}

/** Most creates one transaction carries. */
const MAX_BATCH = 64;

/**
 * Thrown inside a batch's transaction to roll it back and answer its creates one at a time:
 * something in it (the hosts, a name taken) needs a per-request answer or a placement that may
 * wait, which the one-create path gives, and it cannot tell which create it is.
 */
class OneAtATime extends Error {}

/**
 * Thrown inside a batch's transaction to roll it back when it can tell which creates need an
 * answer of their own (a reference that does not resolve, a residency refused, a tenant past a
 * quota or the cap): those go alone, and the others are tried again together.
 */
class Without extends Error {
	constructor(readonly indexes: ReadonlySet<number>) {
		super("creates that need their own answer");
	}
}

/** How many times a batch is tried again without the creates it found needing their own answer. */
const BATCH_RETRIES = 2;

/**
 * Instance creates, group-committed. Creates that arrive while a batch is in its transaction
 * go together in the next one (the coalescer in @igoudar/jobs: the first create of a quiet
 * moment runs at once, alone, on the one-create path), and a batch runs the one-create path's
 * checks and claims set-based, in about eight statements whatever its size: the references, every
 * tenant's operation slot in order, every quota row and slot count, the hosts, and the instances
 * with their operations, outbox rows and audit events. It commits only when every create in it
 * passed. When it can tell which creates did not (a reference, the residency, a tenant past its
 * quota or the cap), it rolls back and tries the others together again, so one tenant hammering
 * past its quota does not send everyone's creates one at a time; anything else (a name taken,
 * hosts it would have to wait for, a deadlock) rolls it back and each create runs alone. Every
 * create that leaves the batch gets exactly the answer the one-create path gives it (409, 422,
 * 429, 503 or its 202). Creates with a placement group, volumes or an Idempotency-Key always run
 * alone: they take locks or write records the batch does not.
 */
export class InstanceCreates {
	private readonly batches: Coalescer<CreateRequest, CreatedInstance>;

	constructor(private readonly deps: ComputeDeps) {
		this.batches = new Coalescer((requests) => this.createMany(requests), { maxBatch: MAX_BATCH });
	}

	/** Batches sent, creates carried and creates committed in a batch (tests and benchmarks). */
	get stats(): { batches: number; items: number; committedTogether: number } {
		return { ...this.batches.stats, committedTogether: this.committedTogether };
	}

	private committedTogether = 0;

	create(ctx: Ctx, tenantId: string, input: InstanceCreate): Promise<CreatedInstance> {
		const alone =
			ctx.idempotency !== null || input.placement_group !== undefined || (input.volume_ids?.length ?? 0) > 0;
		if (alone) return instanceCreate(ctx, this.deps, tenantId, input);
		return this.batches.submit({ ctx, tenantId, input });
	}

	private async createMany(requests: CreateRequest[]): Promise<ItemOutcome<CreatedInstance>[]> {
		const outcomes: (ItemOutcome<CreatedInstance> | undefined)[] = requests.map(() => undefined);
		let together = requests.map((_, i) => i);
		for (let tries = 0; tries <= BATCH_RETRIES && together.length > 1; tries++) {
			let created: CreatedInstance[];
			try {
				created = await this.createTogether(together.map((i) => requests[i] as CreateRequest));
			} catch (error) {
				if (error instanceof Without) {
					together = together.filter((_, k) => !error.indexes.has(k));
					continue;
				}
				// A name taken, a reference deleted meanwhile, a deadlock, hosts to wait for: each
				// create then gets its own answer below.
				if (!(error instanceof OneAtATime)) {
					requests[0]?.ctx.log.debug({ err: error }, "batch of creates rolled back; creating one at a time");
				}
				break;
			}
			// Committed: these creates have their answers, whatever follows.
			for (const [k, i] of together.entries()) outcomes[i] = succeeded(created[k] as CreatedInstance);
			this.committedTogether += created.length;
			this.deps.afterCommit();
			break;
		}
		return Promise.all(
			requests.map((r, i) =>
				outcomes[i] !== undefined
					? (outcomes[i] as ItemOutcome<CreatedInstance>)
					: instanceCreate(r.ctx, this.deps, r.tenantId, r.input).then(
							(created) => succeeded(created),
							(error: unknown) => failedWith<CreatedInstance>(error),
						),
			),
		);
	}

	private createTogether(requests: CreateRequest[]): Promise<CreatedInstance[]> {
		return this.deps.db.transaction(async (tx) => {
			const db = tx as unknown as Db;
			const contexts = await readCreateContexts(
				db,
				requests.map((r) => ({ tenantId: r.tenantId, flavorRef: r.input.flavor, zoneRef: r.input.zone })),
			);
			const planned = requests.map((request, i) => planOf(request, contexts[i]));
			const unplanned = new Set(planned.flatMap((plan, i) => (plan ? [] : [i])));
			if (unplanned.size > 0) throw new Without(unplanned);
			const plans = planned as CreatePlan[];
			await lockOperationSlots(
				db,
				requests.map((r) => r.tenantId),
			);
			const { refusedTenants } = await claimQuotasTogether(
				db,
				plans.map((plan) => ({
					tenantId: plan.request.tenantId,
					amounts: instanceQuota(plan.size),
					operations: 1,
				})),
				this.deps.maxOpenOperationsPerTenant,
			);
			if (refusedTenants.length > 0) {
				const refused = new Set(refusedTenants);
				throw new Without(new Set(requests.flatMap((r, i) => (refused.has(r.tenantId) ? [i] : []))));
			}
			const hosts = await placeAll(db, plans);

			const now = new Date();
			const instances: InstanceRow[] = plans.map((plan, i) => {
				const host = hosts[i] as PlacedHost;
				return {
					id: newId(),
					tenantId: plan.request.tenantId,
					name: plan.request.input.name,
					flavorId: plan.flavor.id,
					zoneId: host.zoneId,
					hostId: host.id,
					placementGroupId: null,
					status: "provisioning",
					...plan.size,
					labels: plan.request.input.labels ?? {},
					createdAt: now,
					updatedAt: now,
					deletedAt: null,
				};
			});
			const operations = await writeCreatedInstances(
				db,
				instances.map((instance, i) => ({
					ctx: (plans[i] as CreatePlan).request.ctx,
					instance,
					flavorName: (plans[i] as CreatePlan).flavor.name,
				})),
				now,
			);
			return instances.map((instance, i) => ({
				instance: presentInstance({
					...instance,
					flavorName: plans[i]?.flavor.name ?? "",
					zoneName: hosts[i]?.zoneName ?? "",
					placementGroupName: null,
					volumeIds: [],
				}),
				operation: presentOperation(operations[i] as (typeof operations)[number]),
			}));
		});
	}
}

interface CreatePlan {
	request: CreateRequest;
	flavor: NonNullable<CreateContext["flavor"]>;
	size: { vcpus: number; memoryMib: number; diskGib: number };
	filter: CandidateFilter;
}

/**
 * What one create needs placed, or undefined when its references do not all resolve or its zone
 * is outside the tenant's residency: the one-create path then says which.
 */
function planOf(request: CreateRequest, context: CreateContext | undefined): CreatePlan | undefined {
	const tenant = context?.tenant;
	const flavor = context?.flavor;
	if (!context || !tenant || !flavor) return undefined;
	let zoneId: string | undefined;
	if (request.input.zone) {
		const zone = context.zone;
		if (!zone || (tenant.dataResidency && !tenant.dataResidency.includes(zone.jurisdiction))) return undefined;
		zoneId = zone.id;
	}
	const size = { vcpus: flavor.vcpus, memoryMib: flavor.memoryMib, diskGib: flavor.diskGib };
	return {
		request,
		flavor,
		size,
		filter: {
			size,
			zoneId,
			jurisdictions: tenant.dataResidency,
			excludeHostIds: [],
			strategy: context.placement.strategy,
		},
	};
}

/**
 * A host for every plan, in their order: plans that ask for the same placement (size, zone,
 * residency, strategy) are placed together by `claimHostsFor`.
 */
async function placeAll(db: Db, plans: readonly CreatePlan[]): Promise<PlacedHost[]> {
	const groups = new Map<string, number[]>();
	for (const [i, plan] of plans.entries()) {
		const { size, zoneId, jurisdictions, strategy } = plan.filter;
		const key = JSON.stringify([size.vcpus, size.memoryMib, size.diskGib, zoneId ?? null, jurisdictions, strategy]);
		groups.set(key, [...(groups.get(key) ?? []), i]);
	}
	const hosts: PlacedHost[] = [];
	for (const indexes of groups.values()) {
		const first = plans[indexes[0] as number] as CreatePlan;
		const placed = await claimHostsFor(db, first.filter, indexes.length);
		if (!placed) throw new OneAtATime();
		for (const [k, index] of indexes.entries()) hosts[index] = placed[k] as PlacedHost;
	}
	return hosts;
}
