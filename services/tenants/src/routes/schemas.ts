import { QUOTA_RESOURCES, type QuotaResource } from "@igoudar/db";
import { Jurisdiction, Name, Nullable, Timestamp, Uuid } from "@igoudar/kit";
import { Type } from "typebox";

export const TenantSchema = Type.Object(
	{
		id: Uuid(),
		name: Type.String(),
		display_name: Nullable(Type.String()),
		status: Type.Union([Type.Literal("active"), Type.Literal("suspended")]),
		data_residency: Nullable(Type.Array(Type.String(), { description: "Allowed jurisdictions; null means anywhere." })),
		price_plan_id: Nullable(Uuid()),
		created_at: Timestamp(),
		updated_at: Timestamp(),
	},
	{ additionalProperties: false },
);

const DisplayName = Type.String({ minLength: 1, maxLength: 200 });
const Residency = Type.Array(Jurisdiction, { minItems: 1, maxItems: 250, uniqueItems: false });

export const TenantCreateBody = Type.Object(
	{
		name: Name("Unique tenant name."),
		display_name: Type.Optional(Nullable(DisplayName)),
		data_residency: Type.Optional(Nullable(Residency)),
	},
	{ additionalProperties: false },
);

export const TenantUpdateBody = Type.Object(
	{
		display_name: Type.Optional(Nullable(DisplayName)),
		status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("suspended")])),
		data_residency: Type.Optional(Nullable(Residency)),
		price_plan_id: Type.Optional(Nullable(Uuid())),
	},
	{ additionalProperties: false, minProperties: 1 },
);

export const ServiceAccountSchema = Type.Object(
	{
		id: Uuid(),
		tenant_id: Nullable(Uuid()),
		name: Type.String(),
		role: Type.String(),
		client_id: Type.String(),
		created_at: Timestamp(),
	},
	{ additionalProperties: false },
);

export const ServiceAccountWithSecret = Type.Object(
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
);

export const ServiceAccountCreateBody = Type.Object(
	{
		name: Name("Unique among the tenant's service accounts."),
		role: Type.Union([Type.Literal("admin"), Type.Literal("member"), Type.Literal("viewer")]),
	},
	{ additionalProperties: false },
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

export const QuotaList = Type.Object(
	{
		items: Type.Array(
			Type.Object(
				{ resource: QuotaResourceName, limit: Type.Integer(), used: Type.Integer() },
				{ additionalProperties: false },
			),
		),
	},
	{ additionalProperties: false },
);

export const QuotaDefaultList = Type.Object(
	{
		items: Type.Array(
			Type.Object({ resource: QuotaResourceName, limit: Type.Integer() }, { additionalProperties: false }),
		),
	},
	{ additionalProperties: false },
);

export const QuotaUpdateBody = Type.Object({ limits: QuotaLimits }, { additionalProperties: false });
