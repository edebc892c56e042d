import {
	effectiveQuotaDefaults,
	listTenantQuotas,
	QUOTA_RESOURCES,
	type QuotaAmounts,
	type QuotaRow,
	setQuotaDefaults,
	setTenantQuotaLimits,
} from "@igoudar/db";
import { type Ctx, problems, recordAudit, withDb } from "@igoudar/kit";
import { findTenant } from "../db/tenants";

export async function quotaList(ctx: Ctx, tenantId: string): Promise<{ items: QuotaRow[] }> {
	// The kit answers 404 for a tenant that does not exist before any tenant route runs.
	return { items: await listTenantQuotas(ctx.db, tenantId) };
}

/**
 * A limit may go below current usage: nothing is deleted, new claims are refused until usage is
 * back under it (the conditional claim does that by itself).
 */
export async function quotaUpdate(ctx: Ctx, tenantId: string, limits: QuotaAmounts): Promise<{ items: QuotaRow[] }> {
	return ctx.db.transaction(async (tx) => {
		if (!(await findTenant(tx, tenantId))) throw problems.notFound("tenant");
		await setTenantQuotaLimits(tx, tenantId, limits);
		await recordAudit(withDb(ctx, tx), {
			tenantId,
			action: "quota.update",
			targetType: "quota",
			targetId: tenantId,
			detail: { limits },
		});
		return { items: await listTenantQuotas(tx, tenantId) };
	});
}

export async function quotaDefaultsGet(ctx: Ctx) {
	const defaults = await effectiveQuotaDefaults(ctx.db);
	return { items: QUOTA_RESOURCES.map((resource) => ({ resource, limit: defaults[resource] })) };
}

export async function quotaDefaultsUpdate(ctx: Ctx, limits: QuotaAmounts) {
	await ctx.db.transaction(async (tx) => {
		await setQuotaDefaults(tx, limits);
		await recordAudit(withDb(ctx, tx), {
			tenantId: null,
			action: "quota_defaults.update",
			targetType: "quota_defaults",
			detail: { limits },
		});
	});
	return quotaDefaultsGet(ctx);
}
