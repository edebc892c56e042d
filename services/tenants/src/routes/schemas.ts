import { QUOTA_RESOURCES, type QuotaResource } from "@igoudar/db";
import { Jurisdiction, Name, Nullable, namedSchema, resourceSchema, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";

export const TenantSchema = resourceSchema(
	"Tenant",
	Type.Object(
		{
			id: Uuid(),
			name: Type.String(),
			display_name: Nullable(Type.String()),
			status: Type.Union([Type.Literal("active"), Type.Literal("suspended")]),
			data_residency: Nullable(
				Type.Array(Type.String(), { description: "Allowed jurisdictions; null means anywhere." }),
			),
			price_plan_id: Nullable(Uuid()),
			created_at: Timestamp(),
			updated_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
		name: "atlas-fisheries",
		display_name: "Atlas Fisheries SARL",
		status: "active",
		data_residency: ["MA"],
		price_plan_id: "0193a4e1-2c3d-7b4e-9f50-6b7c8d9e0f12",
		created_at: "2026-11-02T09:15:00Z",
		updated_at: "2026-11-20T16:40:12Z",
	},
);

const DisplayName = Type.String({ minLength: 1, maxLength: 200 });
const Residency = Type.Array(Jurisdiction, { minItems: 1, maxItems: 250, uniqueItems: false });

export const TenantCreateBody = namedSchema(
	"TenantCreate",
	Type.Object(
		{
			name: Name("Unique tenant name."),
			display_name: Type.Optional(Nullable(DisplayName)),
			data_residency: Type.Optional(Nullable(Residency)),
		},
		{ additionalProperties: false },
	),
	{ name: "atlas-fisheries", display_name: "Atlas Fisheries SARL", data_residency: ["MA"] },
);

export const TenantUpdateBody = namedSchema(
	"TenantUpdate",
	Type.Object(
		{
			display_name: Type.Optional(Nullable(DisplayName)),
			status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("suspended")])),
			data_residency: Type.Optional(Nullable(Residency)),
			price_plan_id: Type.Optional(Nullable(Uuid())),
		},
		{ additionalProperties: false, minProperties: 1 },
	),
	{ status: "suspended" },
);

export const ServiceAccountSchema = resourceSchema(
	"ServiceAccount",
	Type.Object(
		{
			id: Uuid(),
			tenant_id: Nullable(Uuid()),
			name: Type.String(),
			role: Type.String(),
			client_id: Type.String(),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a4f2-3d4e-7c5f-8a61-7c8d9e0f1a23",
		tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
		name: "ci-deployer",
		role: "member",
		client_id: "igc_5f1c9a0be27d4c83a6f01b92",
		created_at: "2026-11-02T09:20:00Z",
	},
);

export const ServiceAccountWithSecret = resourceSchema(
	"ServiceAccountCreated",
	Type.Object(
		{
			id: Uuid(),
			tenant_id: Nullable(Uuid()),
			name: Type.String(),
			role: Type.String(),
			client_id: Type.String(),
			client_secret: Type.Optional(
				Type.String({
					description:
						"Shown once, in the first response; store it now. A replay of the request (same Idempotency-Key) omits it: only its hash is kept.",
				}),
			),
			created_at: Timestamp(),
		},
		{ additionalProperties: false },
	),
	{
		id: "0193a4f2-3d4e-7c5f-8a61-7c8d9e0f1a23",
		tenant_id: "0193a4f0-1b2c-7a3d-8e4f-5a6b7c8d9e01",
		name: "ci-deployer",
		role: "member",
		client_id: "igc_5f1c9a0be27d4c83a6f01b92",
		client_secret: "igs_q8Vd3kP0xN7rT2mW5yL9cB4hJ6fG1sA0eZ3uR8oI2nQ",
		created_at: "2026-11-02T09:20:00Z",
	},
);

export const ServiceAccountCreateBody = namedSchema(
	"ServiceAccountCreate",
	Type.Object(
		{
			name: Name("Unique among the tenant's service accounts."),
			role: Type.Union([Type.Literal("admin"), Type.Literal("member"), Type.Literal("viewer")]),
		},
		{ additionalProperties: false },
	),
	{ name: "ci-deployer", role: "member" },
);

const Limit = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
export const QuotaLimits = Type.Object(
	Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, Type.Optional(Limit)])) as Record<
		(typeof QUOTA_RESOURCES)[number],
		ReturnType<typeof Type.Optional<typeof Limit>>
	>,
	{ additionalProperties: false, minProperties: 1 },
);

const QuotaResourceName = Type.Unsafe<QuotaResource>({ type: "string", enum: [...QUOTA_RESOURCES] });

export const QuotaList = resourceSchema(
	"QuotaList",
	Type.Object(
		{
			items: Type.Array(
				Type.Object(
					{ resource: QuotaResourceName, limit: Type.Integer(), used: Type.Integer() },
					{ additionalProperties: false },
				),
			),
		},
		{ additionalProperties: false },
	),
	{
		items: [
			{ resource: "instances", limit: 10, used: 3 },
			{ resource: "vcpus", limit: 40, used: 8 },
			{ resource: "memory_mib", limit: 163840, used: 16384 },
			{ resource: "volumes", limit: 20, used: 2 },
			{ resource: "volume_gib", limit: 2000, used: 150 },
			{ resource: "snapshots", limit: 40, used: 1 },
		],
	},
);

export const QuotaDefaultList = resourceSchema(
	"QuotaDefaultList",
	Type.Object(
		{
			items: Type.Array(
				Type.Object({ resource: QuotaResourceName, limit: Type.Integer() }, { additionalProperties: false }),
			),
		},
		{ additionalProperties: false },
	),
	{
		items: [
			{ resource: "instances", limit: 10 },
			{ resource: "vcpus", limit: 40 },
			{ resource: "memory_mib", limit: 163840 },
			{ resource: "volumes", limit: 20 },
			{ resource: "volume_gib", limit: 2000 },
			{ resource: "snapshots", limit: 40 },
		],
	},
);

export const QuotaUpdateBody = namedSchema(
	"QuotaUpdate",
	Type.Object({ limits: QuotaLimits }, { additionalProperties: false }),
	{ limits: { vcpus: 64, memory_mib: 262144 } },
);
