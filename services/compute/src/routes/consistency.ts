import { INSTANCE_STATUSES, QUOTA_RESOURCES, type QuotaResource } from "@igoudar/db";
import { type App, contextOf, Nullable, Timestamp, Uuid } from "@igoudar/kit";
import { type TSchema, Type } from "typebox";
import { consistencyCheckers, consistencyGet, consistencyRepair, type DriftKind, driftKinds } from "../app/consistency";
import { HOST_ALLOCATION_RESOURCES, type HostAllocation } from "../db/consistency";
import type { ComputeDeps } from "../deps";

const tags = ["system"];

const Enum = <T extends string>(values: readonly T[], description?: string) =>
	Type.Unsafe<T>({ type: "string", enum: [...values], description });

const QuotaResourceSchema = Enum<QuotaResource>(QUOTA_RESOURCES, "Quota resource, as quotas name it.");
const HostResource = Enum<keyof HostAllocation>(
	HOST_ALLOCATION_RESOURCES,
	"Allocation counter, as the host view's `allocated` names it.",
);
const InstanceStatus = Enum(INSTANCE_STATUSES);
const Cause = Type.String({ description: "Why the stored value and the recount differ, from the data." });
const Count = (description: string) => Type.Integer({ minimum: 0, description });

const QuotaDriftSchema = Type.Object(
	{
		kind: Type.Literal("quota"),
		tenant_id: Uuid(),
		resource: QuotaResourceSchema,
		stored: Type.Integer({ description: "The tenant's usage counter." }),
		actual: Count("What the tenant's live resources holding capacity (instances, volumes, snapshots) are charged."),
		cause: Cause,
	},
	{
		$id: "QuotaDrift",
		additionalProperties: false,
		description: "A tenant's quota usage differs from its live resources.",
	},
);

const HostDriftSchema = Type.Object(
	{
		kind: Type.Literal("host"),
		host_id: Uuid(),
		host: Type.String({ description: "Host name." }),
		resource: HostResource,
		stored: Type.Integer({ description: "The host's allocation counter." }),
		actual: Count("What the live instances placed on the host hold."),
		cause: Cause,
	},
	{ $id: "HostDrift", additionalProperties: false, description: "A host's allocation differs from its instances." },
);

const LastOperation = Nullable(
	Type.Object(
		{
			id: Uuid(),
			kind: Type.String(),
			status: Type.String(),
			completed_at: Nullable(Timestamp()),
		},
		{ additionalProperties: false, description: "The latest operation on the instance; null if it never had one." },
	),
);

const StuckInstanceDriftSchema = Type.Object(
	{
		kind: Type.Literal("stuck"),
		tenant_id: Uuid(),
		instance_id: Uuid(),
		host_id: Uuid(),
		status: InstanceStatus,
		since: Timestamp("When the instance last changed."),
		last_operation: LastOperation,
		cause: Cause,
	},
	{
		$id: "StuckInstanceDrift",
		additionalProperties: false,
		description: "An instance holding capacity in a transitional status with no operation open to settle it.",
	},
);

const QuotaChangeSchema = Type.Object(
	{
		kind: Type.Literal("quota"),
		tenant_id: Uuid(),
		resource: QuotaResourceSchema,
		from: Type.Integer(),
		to: Count("The recount."),
		cause: Cause,
	},
	{ $id: "QuotaChange", additionalProperties: false, description: "A quota usage counter set to its recount." },
);

const HostChangeSchema = Type.Object(
	{
		kind: Type.Literal("host"),
		host_id: Uuid(),
		host: Type.String({ description: "Host name." }),
		resource: HostResource,
		from: Type.Integer(),
		to: Count("The recount."),
		cause: Cause,
	},
	{ $id: "HostChange", additionalProperties: false, description: "A host allocation counter set to its recount." },
);

const StuckInstanceChangeSchema = Type.Object(
	{
		kind: Type.Literal("stuck"),
		tenant_id: Uuid(),
		instance_id: Uuid(),
		host_id: Uuid(),
		from: InstanceStatus,
		to: Type.Literal("failed"),
		cause: Cause,
	},
	{
		$id: "StuckInstanceChange",
		additionalProperties: false,
		description: "A stuck instance marked failed; it keeps its claims until it is deleted.",
	},
);

/**
 * The report and repair answers list every kind the mounted checkers report: compute's own and
 * those of the extensions (storage's pools), whose shapes come with them.
 */
function responseSchemas(
	kinds: readonly DriftKind[],
	extra: { drifts: TSchema[]; changes: TSchema[] },
): { report: TSchema; repair: TSchema } {
	const counts = Type.Object(
		Object.fromEntries(kinds.map((kind) => [kind, Count(`Entries of kind ${kind}.`)])) as Record<
			DriftKind,
			ReturnType<typeof Count>
		>,
		{ $id: "ConsistencyCounts", additionalProperties: false, description: "Entries by kind; every kind is listed." },
	);
	const noEntries = Object.fromEntries(kinds.map((kind) => [kind, 0]));
	const report = Type.Object(
		{
			checked_at: Timestamp(),
			drifts: Type.Array(Type.Union([QuotaDriftSchema, HostDriftSchema, StuckInstanceDriftSchema, ...extra.drifts])),
			counts,
		},
		{
			$id: "ConsistencyReport",
			additionalProperties: false,
			examples: [
				{
					checked_at: "2026-11-22T03:00:00Z",
					drifts: [
						{
							kind: "quota",
							tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
							resource: "vcpus",
							stored: 10,
							actual: 8,
							cause: "Counter 10, live resources hold 8: a release was lost.",
						},
					],
					counts: { ...noEntries, quota: 1 },
				},
			],
		},
	);
	const repair = Type.Object(
		{
			repaired_at: Timestamp(),
			changes: Type.Array(
				Type.Union([QuotaChangeSchema, HostChangeSchema, StuckInstanceChangeSchema, ...extra.changes]),
			),
			counts,
		},
		{
			$id: "ConsistencyRepair",
			additionalProperties: false,
			examples: [
				{
					repaired_at: "2026-11-22T03:00:02Z",
					changes: [
						{
							kind: "quota",
							tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
							resource: "vcpus",
							from: 10,
							to: 8,
							cause: "Counter 10, live resources hold 8: a release was lost.",
						},
					],
					counts: { ...noEntries, quota: 1 },
				},
			],
		},
	);
	return { report, repair };
}

/** Operators only: the audit spans every tenant and host. */
const access = { role: "operator" } as const;

export async function consistencyRoutes(app: App, deps: ComputeDeps): Promise<void> {
	const extensions = deps.consistencyExtensions ?? [];
	const checkers = consistencyCheckers(extensions);
	const schemas = responseSchemas(driftKinds(checkers), {
		drifts: extensions.flatMap((extension) => extension.driftSchemas),
		changes: extensions.flatMap((extension) => extension.changeSchemas),
	});

	app.get(
		"/v1/system/consistency",
		{
			config: { access },
			schema: {
				summary: "Find drift between the counters and the live resources",
				description:
					"Reads one consistent snapshot and changes nothing: quota usage, host allocation and storage pool " +
					"allocation against what the live instances, volumes and snapshots holding capacity add up to, and " +
					"instances stuck in a transitional status.",
				operationId: "consistencyGet",
				tags,
				response: { 200: schemas.report },
			},
		},
		async (request) => consistencyGet(contextOf(request, deps.db), checkers),
	);

	app.post(
		"/v1/system/consistency/repair",
		{
			config: { access },
			schema: {
				summary: "Repair the drift the audit finds",
				description:
					"Sets each drifted counter to its recount and marks stuck instances failed (they keep their claims " +
					"until deleted), one tenant, host, pool or instance at a time under the locks their claims take. Each " +
					"repaired unit records a `system.consistency.repair` audit event. Takes no body (or `{}`).",
				operationId: "consistencyRepair",
				tags,
				response: { 200: schemas.repair },
			},
		},
		async (request) => consistencyRepair(contextOf(request, deps.db), checkers),
	);
}
