import { randomBytes } from "node:crypto";
import { storageEvents } from "@igoudar/db";
import type { TestPlatform } from "@igoudar/server/testing";
import { sql } from "drizzle-orm";
import { makeTenantInvoice } from "../src/index";

/**
 * How to call each of billing's write routes successfully, for the platform's audit coverage test
 * (its recipes, keyed `METHOD /route/:param`, made as an operator).
 */
export function billingWriteRecipes(
	t: TestPlatform,
): Record<string, () => Promise<{ url: string; body?: unknown; token?: string }>> {
	const as = async (url: string, body?: unknown) => ({ url, body, token: await t.operatorToken() });
	const rates = { vcpu_hour: "0.01", memory_gib_hour: "0.002", volume_gib_month: "0.3", snapshot_gib_month: "0.1" };
	const plan = async () => {
		const res = await t.request<{ id: string }>("POST", "/v1/price-plans", {
			token: await t.operatorToken(),
			body: { name: `plan-${randomBytes(4).toString("hex")}`, rates },
		});
		if (res.status !== 201) throw new Error(`setup plan: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body.id;
	};
	/** A draft invoice of a fresh tenant on a fresh plan, for a month long past. */
	const draft = async () => {
		const planId = await plan();
		const tenant = await t.createTenant();
		await t.request("PATCH", `/v1/tenants/${tenant.id}`, {
			token: await t.operatorToken(),
			body: { price_plan_id: planId },
		});
		await t.db.insert(storageEvents).values({
			resourceType: "volume",
			resourceId: crypto.randomUUID(),
			tenantId: tenant.id,
			status: "available",
			sizeGib: 10,
			at: sql`timestamptz '2026-01-05T00:00:00Z'`,
		});
		const month = { start: new Date("2026-01-01T00:00:00Z"), end: new Date("2026-02-01T00:00:00Z") };
		await makeTenantInvoice(t.db, t.config.billing, tenant.id, month, null);
		const list = await t.request<{ items: { id: string }[] }>("GET", `/v1/tenants/${tenant.id}/invoices`, {
			token: await t.operatorToken(),
		});
		const invoice = list.body.items[0];
		if (!invoice) throw new Error("setup invoice: none made");
		return { tenantId: tenant.id, invoiceId: invoice.id };
	};
	return {
		"POST /v1/price-plans": () => as("/v1/price-plans", { name: `plan-${randomBytes(4).toString("hex")}`, rates }),
		"POST /v1/price-plans/:price_plan_id/versions": async () =>
			as(`/v1/price-plans/${await plan()}/versions`, {
				effective_at: "2030-01-01T00:00:00Z",
				rates: { vcpu_hour: "0.02" },
			}),
		"POST /v1/invoices/run": () =>
			as("/v1/invoices/run", { period_start: "2026-01-01T00:00:00Z", period_end: "2026-02-01T00:00:00Z" }),
		"POST /v1/tenants/:tenant_id/invoices/:invoice_id/finalize": async () => {
			const { tenantId, invoiceId } = await draft();
			return as(`/v1/tenants/${tenantId}/invoices/${invoiceId}/finalize`);
		},
	};
}
