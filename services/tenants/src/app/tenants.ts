import { initTenantQuotas, isForeignKeyViolation, isUniqueViolation, postgresError } from "@igoudar/db";
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
	deleteTenantIfEmpty,
	findTenant,
	insertTenant,
	listTenants,
	type TenantRow,
	updateTenant,
} from "../db/tenants";

export interface TenantView {
	id: string;
	name: string;
	display_name: string | null;
	status: "active" | "suspended";
	data_residency: string[] | null;
	price_plan_id: string | null;
	created_at: string;
	updated_at: string;
}

export function presentTenant(row: TenantRow): TenantView {
	return {
		id: row.id,
		name: row.name,
		display_name: row.displayName,
		status: row.status,
		data_residency: row.dataResidency,
		price_plan_id: row.pricePlanId,
		created_at: row.createdAt.toISOString(),
		updated_at: row.updatedAt.toISOString(),
	};
}

/** Jurisdiction lists are sets: store them sorted and without repeats. */
function normaliseResidency(list: string[] | null | undefined): string[] | null | undefined {
	return list ? [...new Set(list)].sort() : list;
}

export interface TenantCreate {
	name: string;
	display_name?: string | null;
	data_residency?: string[] | null;
}

export async function tenantCreate(ctx: Ctx, input: TenantCreate): Promise<TenantView> {
	try {
		return await ctx.db.transaction(async (tx) => {
			const txCtx = withDb(ctx, tx);
			const row = await insertTenant(tx, {
				name: input.name,
				displayName: input.display_name ?? null,
				dataResidency: normaliseResidency(input.data_residency) ?? null,
			});
			await initTenantQuotas(tx, row.id);
			await recordAudit(txCtx, { tenantId: row.id, action: "tenant.create", targetType: "tenant", targetId: row.id });
			return idempotentResult(txCtx, 201, presentTenant(row));
		});
	} catch (error) {
		if (isUniqueViolation(error, "tenants_name_key")) throw problems.conflict(`A tenant named ${input.name} exists.`);
		throw error;
	}
}

export async function tenantList(ctx: Ctx, page: PageRequest) {
	// A tenant principal lists only its own tenant; operators list them all.
	const onlyId = ctx.actor.role === "operator" ? undefined : (ctx.actor.tenantId ?? undefined);
	return toPage(await listTenants(ctx.db, page, onlyId), page, presentTenant);
}

export async function tenantGet(ctx: Ctx, id: string): Promise<TenantView> {
	const row = await findTenant(ctx.db, id);
	if (!row) throw problems.notFound("tenant");
	return presentTenant(row);
}

export interface TenantUpdate {
	display_name?: string | null;
	status?: "active" | "suspended";
	data_residency?: string[] | null;
	price_plan_id?: string | null;
}

/** The constraint that makes a tenant's price plan name one that exists (migration 0005). */
const PRICE_PLAN_FK = "tenants_price_plan_id_price_plans_id_fk";

/** A change of status reaches every replica's authenticator after the commit (suspension is read from there). */
export async function tenantUpdate(
	ctx: Ctx,
	id: string,
	input: TenantUpdate,
	revocations?: Revocations,
): Promise<TenantView> {
	try {
		const view = await updateAndAudit(ctx, id, input);
		if (input.status !== undefined) await revocations?.publish({ tenantId: id });
		return view;
	} catch (error) {
		// An unknown plan is a bad reference in the request, like an unknown flavor on an instance.
		if (isForeignKeyViolation(error) && postgresError(error)?.constraint === PRICE_PLAN_FK) {
			throw problems.validation(`No price plan ${input.price_plan_id} exists.`, [
				{ field: "body/price_plan_id", message: "not found" },
			]);
		}
		throw error;
	}
}

function updateAndAudit(ctx: Ctx, id: string, input: TenantUpdate): Promise<TenantView> {
	return ctx.db.transaction(async (tx) => {
		const row = await updateTenant(tx, id, {
			displayName: input.display_name,
			status: input.status,
			dataResidency: normaliseResidency(input.data_residency),
			pricePlanId: input.price_plan_id,
		});
		if (!row) throw problems.notFound("tenant");
		await recordAudit(withDb(ctx, tx), {
			tenantId: id,
			action: "tenant.update",
			targetType: "tenant",
			targetId: id,
			detail: { ...input },
		});
		return presentTenant(row);
	});
}

export async function tenantDelete(ctx: Ctx, id: string, revocations?: Revocations): Promise<void> {
	await ctx.db.transaction(async (tx) => {
		const outcome = await deleteTenantIfEmpty(tx, id);
		if (outcome === "missing") throw problems.notFound("tenant");
		if (outcome === "in_use") throw problems.conflict("The tenant still owns resources; delete them first.");
		await recordAudit(withDb(ctx, tx), { tenantId: id, action: "tenant.delete", targetType: "tenant", targetId: id });
	});
	await revocations?.publish({ tenantId: id });
}
