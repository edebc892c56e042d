import { INSTANCE_STATUSES } from "@igoudar/db";
import { OperationSchema } from "@igoudar/jobs";
import { ListQuery, Name, Nullable, namedSchema, resourceSchema, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";

export const InstanceStatusSchema = Type.Unsafe<(typeof INSTANCE_STATUSES)[number]>({
	type: "string",
	enum: [...INSTANCE_STATUSES],
});

const Labels = Type.Record(
	Type.String({ pattern: "^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$" }),
	Type.String({ maxLength: 255 }),
	{
		maxProperties: 64,
		description: "Free-form key/value labels.",
	},
);

export const InstanceSchema = resourceSchema(
	"Instance",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			flavor: Type.String({ description: "Flavor name." }),
			zone: Type.String({ description: "Zone name." }),
			status: InstanceStatusSchema,
			placement_group: Nullable(Type.String()),
			volume_ids: Type.Array(Uuid()),
			labels: Type.Record(Type.String(), Type.String()),
			vcpus: Type.Integer(),
			memory_mib: Type.Integer(),
			disk_gib: Type.Integer(),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
		name: "web-1",
		flavor: "c2-m4",
		zone: "dakhla-1",
		status: "running",
		placement_group: "web",
		volume_ids: ["0193a5d1-4e5f-7a60-9b71-8c9d0e1f2a3b"],
		labels: { app: "shop", env: "prod" },
		vcpus: 2,
		memory_mib: 4096,
		disk_gib: 40,
		created_at: "2026-11-21T10:02:03Z",
		updated_at: "2026-11-21T10:02:41Z",
	},
);

export const InstanceCreateBody = namedSchema(
	"InstanceCreate",
	Type.Object(
		{
			name: Name("Unique among the tenant's instances."),
			flavor: Type.String({ minLength: 1, maxLength: 63, description: "Flavor name or id." }),
			zone: Type.Optional(
				Type.String({ minLength: 1, maxLength: 63, description: "Zone name or id; any allowed zone if absent." }),
			),
			placement_group: Type.Optional(
				Type.String({ minLength: 1, maxLength: 63, description: "Placement group name or id." }),
			),
			volume_ids: Type.Optional(Type.Array(Uuid(), { maxItems: 16 })),
			labels: Type.Optional(Labels),
		},
		{ additionalProperties: false },
	),
	{ name: "web-1", flavor: "c2-m4", zone: "dakhla-1", placement_group: "web", labels: { app: "shop", env: "prod" } },
);

export const InstanceCreated = namedSchema(
	"InstanceAccepted",
	Type.Object({ instance: InstanceSchema, operation: OperationSchema }, { additionalProperties: false }),
);

export const OperationAccepted = namedSchema(
	"OperationAccepted",
	Type.Object({ operation: OperationSchema }, { additionalProperties: false }),
);

export const InstanceParams = Type.Object(
	{ tenant_id: Uuid("Tenant id."), instance_id: Uuid("Instance id.") },
	{ additionalProperties: false },
);

export const InstanceListQuery = Type.Object(
	{
		...ListQuery.properties,
		status: Type.Optional(InstanceStatusSchema),
	},
	{ additionalProperties: false },
);
