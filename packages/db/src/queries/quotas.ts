import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../client";
import { quotaDefaults, quotas } from "../schema/identity";
import { OPEN_OPERATION_STATUSES } from "../schema/platform";
import { runStatement, type Statement } from "./prepared";

export const QUOTA_RESOURCES = ["instances", "vcpus", "memory_mib", "volumes", "volume_gib", "snapshots"] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export type QuotaAmounts = Partial<Record<QuotaResource, number>>;

/** What a new tenant gets when the operator has configured nothing. */
export const BUILTIN_QUOTA_DEFAULTS: Record<QuotaResource, number> = {
	instances: 10,
	vcpus: 40,
	memory_mib: 163_840,
	volumes: 20,
	volume_gib: 2_000,
	snapshots: 40,
};

export interface QuotaRow {
	resource: QuotaResource;
	limit: number;
	used: number;
}

export interface QuotaShortfall extends QuotaRow {
	requested: number;
}

export async function effectiveQuotaDefaults(db: Db): Promise<Record<QuotaResource, number>> {
	const rows = await db.select().from(quotaDefaults);
	const out = { ...BUILTIN_QUOTA_DEFAULTS };
	for (const row of rows) {
		if ((QUOTA_RESOURCES as readonly string[]).includes(row.resource)) out[row.resource as QuotaResource] = row.limit;
	}
	return out;
}

export async function setQuotaDefaults(db: Db, limits: QuotaAmounts): Promise<void> {
	for (const [resource, limit] of Object.entries(limits)) {
		await db
			.insert(quotaDefaults)
			.values({ resource, limit })
			.onConflictDoUpdate({ target: quotaDefaults.resource, set: { limit, updatedAt: new Date() } });
	}
}

/** Creates every quota row of a new tenant from the configured defaults. */
export async function initTenantQuotas(db: Db, tenantId: string): Promise<void> {
	const defaults = await effectiveQuotaDefaults(db);
	await db
		.insert(quotas)
		.values(QUOTA_RESOURCES.map((resource) => ({ tenantId, resource, limit: defaults[resource], used: 0 })))
		.onConflictDoNothing();
}

export async function listTenantQuotas(db: Db, tenantId: string): Promise<QuotaRow[]> {
	const rows = await db
		.select({ resource: quotas.resource, limit: quotas.limit, used: quotas.used })
		.from(quotas)
		.where(eq(quotas.tenantId, tenantId))
		.orderBy(asc(quotas.resource));
	const byName = new Map(rows.map((r) => [r.resource, r]));
	return QUOTA_RESOURCES.map((resource) => {
		const row = byName.get(resource);
		return { resource, limit: row?.limit ?? 0, used: row?.used ?? 0 };
	});
}

export async function setTenantQuotaLimits(db: Db, tenantId: string, limits: QuotaAmounts): Promise<void> {
	// Sorted like every claim and release, so a limit change racing a create cannot deadlock.
	for (const [resource, limit] of Object.entries(limits).sort(([a], [b]) => (a < b ? -1 : 1))) {
		await db
			.insert(quotas)
			.values({ tenantId, resource, limit, used: 0 })
			.onConflictDoUpdate({ target: [quotas.tenantId, quotas.resource], set: { limit, updatedAt: new Date() } });
	}
}

function positive(amounts: QuotaAmounts): [QuotaResource, number][] {
	return (Object.entries(amounts) as [QuotaResource, number][])
		.filter(([, n]) => n > 0)
		.sort(([a], [b]) => (a < b ? -1 : 1));
}

/**
 * The open statuses as SQL literals, not a parameter: a named statement may be planned once for
 * any parameter, and only literals let that plan use the partial index on open operations.
 */
const OPEN_STATUS_LIST = OPEN_OPERATION_STATUSES.map((status) => `'${status}'`).join(", ");

const CLAIM_QUOTA: Statement = {
	name: "quota_claim",
	// $1 tenant, $2 resources (sorted), $3 amounts, $4 the open-operations cap or null. The count
	// only runs under a cap, and stops at it.
	text: `
		with open_operations as (
			select count(*)::int as n from (
				select 1 from operations
				where $4::int is not null and tenant_id = $1 and status in (${OPEN_STATUS_LIST}) limit $4
			) o
		), locked as (
			select resource from quotas
			where tenant_id = $1 and resource = any($2::text[])
				and ($4::int is null or (select n from open_operations) < $4)
			order by resource collate "C"
			for update
		), wanted as (
			select * from unnest($2::text[], $3::bigint[]) as w(resource, n)
		), claimed as (
			update quotas set used = quotas.used + wanted.n, updated_at = now()
			from locked join wanted on wanted.resource = locked.resource
			where quotas.tenant_id = $1 and quotas.resource = locked.resource and quotas.used + wanted.n <= quotas."limit"
			returning quotas.resource
		)
		select (select n from open_operations) as open_operations,
			coalesce((select array_agg(resource) from claimed), '{}') as claimed`,
};

export type QuotaClaim =
	| { ok: true }
	/** `openOperations` is set when the cap refused the claim; nothing was claimed then. */
	| { ok: false; shortfalls: QuotaShortfall[]; openOperations?: number };

/**
 * Claims usage of every resource in one statement (one round trip, however many resources): the
 * tenant's rows are locked in a fixed order (code-unit order of the resource, `collate "C"`, as
 * every release and repair sorts them) so concurrent claims never deadlock, then each is raised
 * only where it stays within its limit. Must run inside the caller's transaction: on a shortfall
 * the caller throws and the rows already raised roll back with it.
 *
 * With `openOperationsCap`, the same statement first counts the tenant's open operations and
 * claims nothing when they have reached the cap: a create's operation slot check and its quota
 * claim in one round trip. The caller must already hold the tenant's operation slot lock
 * (`OPERATION_SLOT_LOCK_SPACE`), taken in an earlier statement: this statement's snapshot then
 * follows the lock, so the count sees every operation its previous holder committed.
 */
export async function claimQuota(
	tx: Db,
	tenantId: string,
	amounts: QuotaAmounts,
	options: { openOperationsCap?: number } = {},
): Promise<QuotaClaim> {
	const wanted = positive(amounts);
	if (wanted.length === 0 && options.openOperationsCap === undefined) return { ok: true };
	const resources = wanted.map(([r]) => r);
	const counts = wanted.map(([, n]) => n);
	const [row] = await runStatement<{ open_operations: number; claimed: string[] }>(tx, CLAIM_QUOTA, [
		tenantId,
		resources,
		counts,
		options.openOperationsCap ?? null,
	]);
	const open = row?.open_operations ?? 0;
	if (options.openOperationsCap !== undefined && open >= options.openOperationsCap) {
		return { ok: false, shortfalls: [], openOperations: open };
	}
	const claimed = new Set(row?.claimed ?? []);
	const failed = wanted.filter(([resource]) => !claimed.has(resource));
	if (failed.length === 0) return { ok: true };
	const current = await tx
		.select({ resource: quotas.resource, limit: quotas.limit, used: quotas.used })
		.from(quotas)
		.where(
			and(
				eq(quotas.tenantId, tenantId),
				inArray(
					quotas.resource,
					failed.map(([r]) => r),
				),
			),
		);
	const byName = new Map(current.map((r) => [r.resource, r]));
	return {
		ok: false,
		shortfalls: failed.map(([resource, requested]) => ({
			resource,
			requested,
			limit: byName.get(resource)?.limit ?? 0,
			used: byName.get(resource)?.used ?? 0,
		})),
	};
}

const CLAIM_QUOTAS_TOGETHER: Statement = {
	name: "quota_claim_together",
	// $1 tenants, $2 resources, $3 amounts: one entry per tenant and resource, sorted by tenant and
	// then resource. $4 the open-operations cap.
	text: `
		with wanted as (
			select * from unnest($1::uuid[], $2::text[], $3::bigint[]) as w(tenant_id, resource, n)
		), open_operations as (
			select t.tenant_id, (
				select count(*)::int from (
					select 1 from operations o where o.tenant_id = t.tenant_id and o.status in (${OPEN_STATUS_LIST}) limit $4
				) x
			) as n
			from (select distinct tenant_id from wanted) t
		), locked as (
			select q.tenant_id, q.resource from quotas q
			join wanted w on w.tenant_id = q.tenant_id and w.resource = q.resource
			order by q.tenant_id, q.resource collate "C"
			for update of q
		), claimed as (
			update quotas set used = quotas.used + wanted.n, updated_at = now()
			from locked join wanted on wanted.tenant_id = locked.tenant_id and wanted.resource = locked.resource
			where quotas.tenant_id = locked.tenant_id and quotas.resource = locked.resource
				and quotas.used + wanted.n <= quotas."limit"
			returning quotas.tenant_id
		)
		select (select coalesce(json_object_agg(tenant_id, n), '{}'::json) from open_operations) as open_operations,
			(select coalesce(json_object_agg(tenant_id, n), '{}'::json)
				from (select tenant_id, count(*)::int as n from claimed group by tenant_id) c) as claimed`,
};

/**
 * `claimQuota` with `openOperationsCap` for the requests of many tenants committed together, in
 * one statement: each tenant's rows are locked in the order one claim locks them (tenants in
 * order, then resources), and raised by the sum of its requests. Answers the tenants whose claim
 * failed: a row that would pass its limit, or open operations and new ones that would pass the
 * cap. The other tenants' rows are raised, the refused ones' may be in part, so the caller must
 * roll back when any is refused: it may then claim again for the others together, and for each
 * refused request alone, which tells it its own answer. The caller must hold every one of these
 * tenants' operation slot locks, taken in an earlier statement.
 */
export async function claimQuotasTogether(
	tx: Db,
	claims: readonly { tenantId: string; amounts: QuotaAmounts; operations: number }[],
	openOperationsCap: number,
): Promise<{ refusedTenants: string[] }> {
	const totals = new Map<string, Map<QuotaResource, number>>();
	const operationsOf = new Map<string, number>();
	for (const claim of claims) {
		const perTenant = totals.get(claim.tenantId) ?? new Map<QuotaResource, number>();
		for (const [resource, n] of positive(claim.amounts)) perTenant.set(resource, (perTenant.get(resource) ?? 0) + n);
		totals.set(claim.tenantId, perTenant);
		operationsOf.set(claim.tenantId, (operationsOf.get(claim.tenantId) ?? 0) + claim.operations);
	}
	const tenantIds: string[] = [];
	const resources: string[] = [];
	const amounts: number[] = [];
	for (const tenantId of [...totals.keys()].sort()) {
		for (const [resource, n] of [...(totals.get(tenantId) ?? [])].sort(([a], [b]) => (a < b ? -1 : 1))) {
			tenantIds.push(tenantId);
			resources.push(resource);
			amounts.push(n);
		}
	}
	const [row] = await runStatement<{ open_operations: Record<string, number>; claimed: Record<string, number> }>(
		tx,
		CLAIM_QUOTAS_TOGETHER,
		[tenantIds, resources, amounts, openOperationsCap],
	);
	const refusedTenants = [...totals].flatMap(([tenantId, wanted]) => {
		const claimed = row?.claimed[tenantId] ?? 0;
		const open = row?.open_operations[tenantId] ?? 0;
		const refused = claimed !== wanted.size || open + (operationsOf.get(tenantId) ?? 0) > openOperationsCap;
		return refused ? [tenantId] : [];
	});
	return { refusedTenants };
}

/**
 * The transaction-level advisory lock that serialises one tenant's operation-starting requests
 * (`claimOperationSlot`): this constant names the lock space, `hashtext(tenant id)` is the second
 * key. Shared so a create can take the lock in the statement that reads its references.
 */
export const OPERATION_SLOT_LOCK_SPACE = 727_004;

/** Gives usage back. Never below zero: the usage reconciler reports any drift this hides. */
export async function releaseQuota(tx: Db, tenantId: string, amounts: QuotaAmounts): Promise<void> {
	for (const [resource, n] of positive(amounts)) {
		await tx
			.update(quotas)
			.set({ used: sql`greatest(${quotas.used} - ${n}, 0)`, updatedAt: new Date() })
			.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, resource)));
	}
}

/** Overwrites usage with a recount; returns the resources whose stored usage had drifted. */
export async function resetQuotaUsage(
	tx: Db,
	tenantId: string,
	actual: Record<QuotaResource, number>,
): Promise<{ resource: QuotaResource; stored: number; actual: number }[]> {
	const drift: { resource: QuotaResource; stored: number; actual: number }[] = [];
	for (const row of await listTenantQuotas(tx, tenantId)) {
		if (row.used !== actual[row.resource]) {
			drift.push({ resource: row.resource, stored: row.used, actual: actual[row.resource] });
			await tx
				.update(quotas)
				.set({ used: actual[row.resource], updatedAt: new Date() })
				.where(and(eq(quotas.tenantId, tenantId), eq(quotas.resource, row.resource)));
		}
	}
	return drift;
}
