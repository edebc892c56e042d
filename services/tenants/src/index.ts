import type { ServiceModule } from "@igoudar/kit";
import type { TenantsDeps } from "./deps";
import { auditEventRoutes } from "./routes/audit-events";
import { authRoutes } from "./routes/auth";
import { quotaRoutes } from "./routes/quotas";
import { serviceAccountRoutes } from "./routes/service-accounts";
import { tenantRoutes } from "./routes/tenants";

export type { BootstrapSettings } from "./app/bootstrap";
export { bootstrapOperator } from "./app/bootstrap";
export { createKeySealer, type KeySealer } from "./app/key-sealing";
export { enforceKeySealing, type KeySealingPolicy } from "./app/key-sealing-policy";
export { type KeyPolicy, maintainSigningKeys, TokenSigner } from "./app/signing-keys";
export type { TenantsDeps } from "./deps";

export const tenantsService: ServiceModule<TenantsDeps> = {
	name: "tenants",
	tags: [
		{ name: "auth", description: "Access tokens and their public keys." },
		{ name: "tenants", description: "Tenants: the unit of ownership, residency and billing." },
		{ name: "service-accounts", description: "Machine credentials of a tenant." },
		{ name: "quotas", description: "Per-tenant limits and usage." },
		{ name: "audit", description: "The audit trail: who did what, when, from where, with which request." },
	],
	async register(app, deps) {
		// Each group is its own encapsulated plugin: the form-body parser stays on the token route.
		await app.register(async (scope) => authRoutes(scope as typeof app, deps));
		await app.register(async (scope) => tenantRoutes(scope as typeof app, deps));
		await app.register(async (scope) => serviceAccountRoutes(scope as typeof app, deps));
		await app.register(async (scope) => quotaRoutes(scope as typeof app, deps));
		await app.register(async (scope) => auditEventRoutes(scope as typeof app, deps));
	},
};
