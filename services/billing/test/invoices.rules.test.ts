import { invoiceRuns, invoices, operations } from "@igoudar/db";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finalizeDueInvoices, scheduleEndedMonth } from "../src/index";
import { BillingHarness, HOUR, insertStorageLifecycle, microsOfIso } from "./support";

const DEFAULT_PLAN = "house-default";
const rates = { vcpu_hour: "0.01", memory_gib_hour: "0.002", volume_gib_month: "0.5", snapshot_gib_month: "0.2" };

let h: BillingHarness;
let token: string;
beforeAll(async () => {
	h = await BillingHarness.start({ IGOUDAR_DEFAULT_PRICE_PLAN: DEFAULT_PLAN });
	await h.startWorkers();
	token = await h.operator();
});
afterAll(async () => {
	await h?.close();
});

interface Line {
	kind: string;
	meter: string;
	usage_period_start: string;
	quantity: string;
	amount: string;
}
interface Invoice {
	id: string;
	period_start: string;
	status: string;
	lines: Line[];
	total: string;
}

const invoicesOf = async (tenant: string) =>
	(await h.t.request<{ items: Invoice[] }>("GET", `/v1/tenants/${tenant}/invoices`, { token })).body.items;

describe("adjustments", () => {
	it("puts usage that reaches a finalized month late onto the next invoice, once", async () => {
		const plan = await h.createPlan({ rates });
		const tenant = await h.tenantOnPlan(plan.id);
		await insertStorageLifecycle(h.db, tenant, "volume", [
			{ status: "available", at: microsOfIso("2026-08-01T00:00:00Z"), sizeGib: 73 },
		]);
		await h.runInvoices("2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z");
		const [august] = await invoicesOf(tenant);
		if (!august) throw new Error("no August invoice");
		const finalized = await h.t.request<Invoice>("POST", `/v1/tenants/${tenant}/invoices/${august.id}/finalize`, {
			token,
		});
		expect(finalized.status).toBe(200);

		// A snapshot of August recorded after August was invoiced and finalized: 50 GiB for 146 h.
		const late = microsOfIso("2026-08-10T00:00:00Z");
		await insertStorageLifecycle(h.db, tenant, "snapshot", [
			{ status: "available", at: late, sizeGib: 50 },
			{ status: "deleted", at: late + 146n * HOUR, sizeGib: 50 },
		]);
		await h.runInvoices("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z");
		const september = (await invoicesOf(tenant)).find((i) => i.period_start.startsWith("2026-09"));
		expect(september?.lines.map((l) => [l.kind, l.meter, l.usage_period_start, l.quantity, l.amount])).toEqual([
			// 73 GiB all September: 720 h of 730.
			["usage", "volume_gib_months", "2026-09-01T00:00:00.000Z", "72.000000000", "36.00"],
			// 50 GiB x 146 h / 730 h = 10 GiB-months of August, at 0.20.
			["adjustment", "snapshot_gib_months", "2026-08-01T00:00:00.000Z", "10.000000000", "2.00"],
			// Energy and carbon shown, never charged: this tenant has no rows in the energy ledger.
			...["energy_kwh", "co2e_scope1", "co2e_scope2_location", "co2e_scope2_market", "co2e_embodied"].map((meter) => [
				"information",
				meter,
				"2026-09-01T00:00:00.000Z",
				"0.000000000",
				"0.00",
			]),
		]);
		// The finalized August invoice is untouched, and the adjustment is not made twice.
		expect((await invoicesOf(tenant)).find((i) => i.id === august.id)).toEqual(finalized.body);
		await h.runInvoices("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
		const october = (await invoicesOf(tenant)).find((i) => i.period_start.startsWith("2026-10"));
		expect(october?.lines.map((l) => l.kind)).toEqual(["usage", ...Array(5).fill("information")]);
	});
});

describe("price plans", () => {
	it("refuses a rate that reaches back into an invoiced period, and accepts one after it", async () => {
		const plan = await h.createPlan({ rates });
		const tenant = await h.tenantOnPlan(plan.id);
		await insertStorageLifecycle(h.db, tenant, "volume", [
			{ status: "available", at: microsOfIso("2026-07-02T00:00:00Z") },
		]);
		await h.runInvoices("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z");
		const back = await h.t.request<{ code: string }>("POST", `/v1/price-plans/${plan.id}/versions`, {
			token,
			body: { effective_at: "2026-07-15T00:00:00Z", rates: { volume_gib_month: "9" } },
		});
		expect([back.status, back.body.code]).toEqual([409, "conflict"]);
		const ahead = await h.t.request<{ versions: { rates: Record<string, string> }[] }>(
			"POST",
			`/v1/price-plans/${plan.id}/versions`,
			{ token, body: { effective_at: "2026-08-01T00:00:00Z", rates: { volume_gib_month: "0.45" } } },
		);
		expect(ahead.status).toBe(201);
		// What the version leaves out carries over from the one before it.
		expect(ahead.body.versions[1]?.rates).toEqual({
			...rates,
			vcpu_hour: "0.010000",
			memory_gib_hour: "0.002000",
			volume_gib_month: "0.450000",
			snapshot_gib_month: "0.200000",
			energy_kwh: "0.000000",
		});
	});

	it("refuses unknown currencies, over-precise rates, tax above 1 and unknown plans on a tenant", async () => {
		const post = (body: Record<string, unknown>) =>
			h.t.request<{ code: string }>("POST", "/v1/price-plans", { token, body });
		expect((await post({ name: "xxx-plan", currency: "XXX", rates })).status).toBe(400);
		expect((await post({ name: "fine-plan", rates: { ...rates, vcpu_hour: "0.0000001" } })).status).toBe(400);
		expect((await post({ name: "fine-plan", rates: { ...rates, vcpu_hour: 0.01 } })).status).toBe(400);
		expect((await post({ name: "fine-plan", rates, tax_rate: "1.5" })).status).toBe(400);
		const tenant = await h.t.createTenant();
		const unknown = await h.t.request<{ code: string }>("PATCH", `/v1/tenants/${tenant.id}`, {
			token,
			body: { price_plan_id: "019a0000-0000-7000-8000-0000000000aa" },
		});
		expect([unknown.status, unknown.body.code]).toEqual([400, "validation_failed"]);
	});

	it("shows a tenant the plan it is invoiced under: its own, else the default, else none", async () => {
		const tenant = (await h.t.createTenant()).id;
		const viewer = (await h.t.principal(tenant, "viewer")).token;
		const read = async () =>
			(
				await h.t.request<{ source: string; plan: { name: string } | null }>(
					"GET",
					`/v1/tenants/${tenant}/price-plan`,
					{
						token: viewer,
					},
				)
			).body;
		expect(await read()).toEqual({ source: "none", plan: null });
		await h.createPlan({ name: DEFAULT_PLAN, rates });
		expect(await read()).toMatchObject({ source: "default", plan: { name: DEFAULT_PLAN } });
		const own = await h.createPlan({ rates, currency: "EUR" });
		await h.t.request("PATCH", `/v1/tenants/${tenant}`, { token, body: { price_plan_id: own.id } });
		expect(await read()).toMatchObject({ source: "assigned", plan: { currency: "EUR" } });
	});
});

describe("invoice runs", () => {
	it("refuses periods that are not whole months or have not ended", async () => {
		const run = (period_start: string, period_end: string) =>
			h.t.request("POST", "/v1/invoices/run", { token, body: { period_start, period_end } });
		expect((await run("2026-05-02T00:00:00Z", "2026-06-01T00:00:00Z")).status).toBe(400);
		expect((await run("2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z")).status).toBe(400);
		const thisMonth = new Date();
		const start = new Date(Date.UTC(thisMonth.getUTCFullYear(), thisMonth.getUTCMonth(), 1));
		const next = new Date(Date.UTC(thisMonth.getUTCFullYear(), thisMonth.getUTCMonth() + 1, 1));
		expect((await run(start.toISOString(), next.toISOString())).status).toBe(400);
	});

	it("schedules each ended month once however many workers try, and finalizes drafts past the grace period", async () => {
		const made = await Promise.all(Array.from({ length: 5 }, () => scheduleEndedMonth(h.db)));
		expect(made.filter((id) => id !== undefined)).toHaveLength(1);
		const scheduled = await h.db.select().from(invoiceRuns).where(eq(invoiceRuns.scheduled, true));
		expect(scheduled).toHaveLength(1);
		const queued = await h.db
			.select()
			.from(operations)
			.where(and(eq(operations.kind, "invoice.run"), eq(operations.targetId, scheduled[0]?.id ?? "")));
		expect(queued).toHaveLength(1);

		const drafts = await h.db.select({ id: invoices.id }).from(invoices).where(eq(invoices.status, "draft"));
		expect(drafts.length).toBeGreaterThan(0);
		expect(await finalizeDueInvoices(h.db, 72)).toBe(0);
		expect(await finalizeDueInvoices(h.db, 0, new Date(Date.now() + 1000))).toBe(drafts.length);
		const left = await h.db.select({ id: invoices.id }).from(invoices).where(eq(invoices.status, "draft"));
		expect(left).toEqual([]);
	});
});

describe("access", () => {
	it("keeps plans, runs and finalization to operators and lets tenants read only their own", () => {
		const rules = Object.fromEntries(
			h.t.platform.routes
				.filter((r) => /price-plan|invoice|usage/.test(r.url))
				.map((r) => [`${r.method} ${r.url}`, r.access]),
		);
		expect(rules).toEqual({
			"POST /v1/price-plans": { role: "operator" },
			"GET /v1/price-plans": { role: "operator" },
			"GET /v1/price-plans/:price_plan_id": { role: "operator" },
			"POST /v1/price-plans/:price_plan_id/versions": { role: "operator" },
			"GET /v1/tenants/:tenant_id/price-plan": { role: "viewer", tenant: true },
			"GET /v1/tenants/:tenant_id/usage": { role: "viewer", tenant: true },
			"POST /v1/invoices/run": { role: "operator" },
			"GET /v1/invoice-runs/:run_id": { role: "operator" },
			"GET /v1/invoices": { role: "operator" },
			"GET /v1/tenants/:tenant_id/invoices": { role: "viewer", tenant: true },
			"GET /v1/tenants/:tenant_id/invoices/:invoice_id": { role: "viewer", tenant: true },
			"POST /v1/tenants/:tenant_id/invoices/:invoice_id/finalize": { role: "operator", tenant: true },
		});
	});
});
