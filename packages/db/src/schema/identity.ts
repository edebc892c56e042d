import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { pricePlans } from "./billing";
import { createdAt, idColumn, tsColumn, updatedAt } from "./columns";

export const tenants = pgTable(
	"tenants",
	{
		id: idColumn(),
		name: text("name").notNull(),
		displayName: text("display_name"),
		status: text("status", { enum: ["active", "suspended"] })
			.notNull()
			.default("active"),
		/** ISO 3166 alpha-2 jurisdictions the tenant's data may live in; null means anywhere. */
		dataResidency: text("data_residency").array(),
		/** The plan the tenant is invoiced under; null means the deployment's default plan. */
		pricePlanId: uuid("price_plan_id").references(() => pricePlans.id),
		createdAt: createdAt(),
		updatedAt: updatedAt(),
	},
	(t) => [
		uniqueIndex("tenants_name_key").on(t.name),
		check("tenants_status_check", sql`${t.status} in ('active', 'suspended')`),
	],
);

export const serviceAccounts = pgTable(
	"service_accounts",
	{
		id: idColumn(),
		/** Null for platform operators. */
		tenantId: uuid("tenant_id").references(() => tenants.id, { onDelete: "cascade" }),
		name: text("name").notNull(),
		role: text("role", { enum: ["operator", "admin", "member", "viewer"] }).notNull(),
		clientId: text("client_id").notNull(),
		/** scrypt$N$r$p$salt$hash: never the secret itself. */
		secretHash: text("secret_hash").notNull(),
		createdAt: createdAt(),
		revokedAt: tsColumn("revoked_at"),
	},
	(t) => [
		uniqueIndex("service_accounts_client_id_key").on(t.clientId),
		// Names are unique among the live accounts of one tenant (operators share the null tenant).
		uniqueIndex("service_accounts_tenant_name_key")
			.on(sql`coalesce(${t.tenantId}, '00000000-0000-0000-0000-000000000000'::uuid)`, t.name)
			.where(sql`${t.revokedAt} is null`),
		index("service_accounts_tenant_idx").on(t.tenantId),
		check("service_accounts_role_check", sql`${t.role} in ('operator', 'admin', 'member', 'viewer')`),
		check("service_accounts_operator_check", sql`(${t.role} = 'operator') = (${t.tenantId} is null)`),
	],
);

/**
 * Token signing keys. Lifecycle: `next` (published, not yet signing) -> `active` (signs) ->
 * `retired` (published until `expires_at`, when the last token it signed has expired).
 */
export const signingKeys = pgTable(
	"signing_keys",
	{
		kid: text("kid").primaryKey(),
		alg: text("alg").notNull(),
		state: text("state", { enum: ["next", "active", "retired"] }).notNull(),
		publicJwk: jsonb("public_jwk").$type<Record<string, unknown>>().notNull(),
		privateJwk: jsonb("private_jwk").$type<Record<string, unknown>>().notNull(),
		createdAt: createdAt(),
		activatedAt: tsColumn("activated_at"),
		retiredAt: tsColumn("retired_at"),
		expiresAt: tsColumn("expires_at"),
	},
	(t) => [
		// At most one key signs at a time.
		uniqueIndex("signing_keys_one_active").on(t.state).where(sql`${t.state} = 'active'`),
		uniqueIndex("signing_keys_one_next").on(t.state).where(sql`${t.state} = 'next'`),
	],
);

export const quotaDefaults = pgTable("quota_defaults", {
	resource: text("resource").primaryKey(),
	limit: bigint("limit", { mode: "number" }).notNull(),
	updatedAt: updatedAt(),
});

/**
 * One row per tenant and resource. `used` is changed only by single conditional statements
 * (`used + n <= limit`), so enforcement is exact under any concurrency.
 */
export const quotas = pgTable(
	"quotas",
	{
		tenantId: uuid("tenant_id")
			.notNull()
			.references(() => tenants.id, { onDelete: "cascade" }),
		resource: text("resource").notNull(),
		limit: bigint("limit", { mode: "number" }).notNull(),
		used: bigint("used", { mode: "number" }).notNull().default(sql`0`),
		updatedAt: updatedAt(),
	},
	(t) => [
		primaryKey({ name: "quotas_pkey", columns: [t.tenantId, t.resource] }),
		check("quotas_used_nonnegative", sql`${t.used} >= 0`),
		check("quotas_limit_nonnegative", sql`${t.limit} >= 0`),
	],
);

export const auditEvents = pgTable(
	"audit_events",
	{
		id: idColumn(),
		tenantId: uuid("tenant_id"),
		actorId: text("actor_id").notNull(),
		actorRole: text("actor_role").notNull(),
		action: text("action").notNull(),
		targetType: text("target_type").notNull(),
		targetId: text("target_id"),
		requestId: text("request_id"),
		/**
		 * The client address the request came from, as resolved through the trusted proxies; null for
		 * events the platform records itself. Text, not inet: it is shown as received, never parsed.
		 */
		sourceAddress: text("source_address"),
		detail: jsonb("detail").$type<Record<string, unknown>>(),
		createdAt: createdAt(),
	},
	(t) => [
		// The lists read newest first by id (time-ordered), per tenant or across the platform.
		index("audit_events_tenant_id_idx").on(t.tenantId, t.id),
		// "What happened to this resource" is the question an audit trail is asked most.
		index("audit_events_target_idx").on(t.targetId, t.id),
	],
);
