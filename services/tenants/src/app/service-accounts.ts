import { isForeignKeyViolation, isUniqueViolation } from "@igoudar/db";
import {
	type Ctx,
	idempotentResult,
	type PageRequest,
	problems,
	type Revocations,
	recordAudit,
	toPage,
	withDb,
} from "@igoudar/kit";
import {
	insertServiceAccount,
	listTenantAccounts,
	revokeTenantAccount,
	type ServiceAccountRow,
} from "../db/service-accounts";
import { findTenant } from "../db/tenants";
import { hashSecret, newClientId, newClientSecret } from "./secrets";

export type TenantRole = "admin" | "member" | "viewer";

export interface ServiceAccountView {
	id: string;
	tenant_id: string | null;
	name: string;
	role: string;
	client_id: string;
	created_at: string;
}

export function presentServiceAccount(row: ServiceAccountRow): ServiceAccountView {
	return {
		id: row.id,
		tenant_id: row.tenantId,
		name: row.name,
		role: row.role,
		client_id: row.clientId,
		created_at: row.createdAt.toISOString(),
	};
}

export async function serviceAccountCreate(
	ctx: Ctx,
	tenantId: string,
	input: { name: string; role: TenantRole },
): Promise<ServiceAccountView & { client_secret: string }> {
	const secret = newClientSecret();
	const secretHash = await hashSecret(secret);
	try {
		return await ctx.db.transaction(async (tx) => {
			if (!(await findTenant(tx, tenantId))) throw problems.notFound("tenant");
			const row = await insertServiceAccount(tx, {
				tenantId,
				name: input.name,
				role: input.role,
				clientId: newClientId(),
				secretHash,
			});
			await recordAudit(withDb(ctx, tx), {
				tenantId,
				action: "service_account.create",
				targetType: "service_account",
				targetId: row.id,
				detail: { name: input.name, role: input.role },
			});
			// The secret leaves the server once, here; only its hash is kept.
			return idempotentResult(withDb(ctx, tx), 201, { ...presentServiceAccount(row), client_secret: secret }, [
				"client_secret",
			]);
		});
	} catch (error) {
		// The tenant was deleted between the check and the insert.
		if (isForeignKeyViolation(error)) throw problems.notFound("tenant");
		if (isUniqueViolation(error, "service_accounts_tenant_name_key")) {
			throw problems.conflict(`A service account named ${input.name} exists in this tenant.`);
		}
		throw error;
	}
}

export async function serviceAccountList(ctx: Ctx, tenantId: string, page: PageRequest) {
	// The kit answers 404 for a tenant that does not exist before any tenant route runs.
	return toPage(await listTenantAccounts(ctx.db, tenantId, page), page, presentServiceAccount);
}

/** After the commit, every replica is told to forget the account (see the authenticator's cache). */
export async function serviceAccountRevoke(
	ctx: Ctx,
	tenantId: string,
	id: string,
	revocations?: Revocations,
): Promise<void> {
	await ctx.db.transaction(async (tx) => {
		if (!(await revokeTenantAccount(tx, tenantId, id))) throw problems.notFound("service account");
		await recordAudit(withDb(ctx, tx), {
			tenantId,
			action: "service_account.revoke",
			targetType: "service_account",
			targetId: id,
		});
	});
	await revocations?.publish({ accountId: id });
}
