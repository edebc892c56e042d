import { INSTANCE_STATUSES } from "@igoudar/db";
import { type App, contextOf, Nullable, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";
import { INSTANCE_QUOTA_RESOURCES, type InstanceQuotaResource } from "../app/claims";
import { consistencyGet, consistencyRepair, DRIFT_KINDS, type DriftKind } from "../app/consistency";
import { HOST_ALLOCATION_RESOURCES, type HostAllocation } from "../db/consistency";
import type { ComputeDeps } from "../deps";

const tags = ["system"];

const Enum = <T extends string>(values: readonly T[], description?: string) =>
	Type.Unsafe<T>({ type: "string", enum: [...values], description });

const QuotaResource = Enum<InstanceQuotaResource>(INSTANCE_QUOTA_RESOURCES, "Quota resource, as quotas name it.");
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
		resource: QuotaResource,
		stored: Type.Integer({ description: "The tenant's usage counter." }),
		actual: Count("What the tenant's live instances holding capacity are charged."),
		cause: Cause,
	},
	{ $id: "QuotaDrift", additionalProperties: false, description: "A tenant's quota usage differs from its instances." },
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

const CountsSchema = Type.Object(
	Object.fromEntries(DRIFT_KINDS.map((kind) => [kind, Count(`Entries of kind ${kind}.`)])) as Record<
		DriftKind,
		ReturnType<typeof Count>
	>,
	{ $id: "ConsistencyCounts", additionalProperties: false, description: "Entries by kind; every kind is listed." },
);

const ConsistencyReportSchema = Type.Object(
	{
		checked_at: Timestamp(),
		drifts: Type.Array(Type.Union([QuotaDriftSchema, HostDriftSchema, StuckInstanceDriftSchema])),
		counts: CountsSchema,
	},
	{ $id: "ConsistencyReport", additionalProperties: false },
);

const QuotaChangeSchema = Type.Object(
	{
		kind: Type.Literal("quota"),
		tenant_id: Uuid(),
		resource: QuotaResource,
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

const ConsistencyRepairSchema = Type.Object(
	{
		repaired_at: Timestamp(),
		changes: Type.Array(Type.Union([QuotaChangeSchema, HostChangeSchema, StuckInstanceChangeSchema])),
		counts: CountsSchema,
	},
	{ $id: "ConsistencyRepair", additionalProperties: false },
);

/** Operators only: the audit spans every tenant and host. */
const access = { role: "operator" } as const;

export async function consistencyRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.get(
		"/v1/system/consistency",
		{
			config: { access },
			schema: {
				summary: "Find drift between the counters and the live resources",
				description:
					"Reads one consistent snapshot and changes nothing: quota usage and host allocation against what " +
					"the live instances holding capacity add up to, and instances stuck in a transitional status.",
				operationId: "consistencyGet",
				tags,
				response: { 200: ConsistencyReportSchema },
			},
		},
		async (request) => consistencyGet(contextOf(request, deps.db)),
	);

	app.post(
		"/v1/system/consistency/repair",
		{
			config: { access },
			schema: {
				summary: "Repair the drift the audit finds",
				description:
					"Sets each drifted counter to its recount and marks stuck instances failed (they keep their claims " +
					"until deleted), one tenant, host or instance at a time under the locks their claims take. Each " +
					"repaired unit records a `system.consistency.repair` audit event. Takes no body (or `{}`).",
				operationId: "consistencyRepair",
				tags,
				response: { 200: ConsistencyRepairSchema },
			},
		},
		async (request) => consistencyRepair(contextOf(request, deps.db)),
	);
}
