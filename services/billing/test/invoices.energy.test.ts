import { energyAttributions } from "@igoudar/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingHarness, HOUR, insertInstanceLifecycle, insertLedgerRows, microsOfIso } from "./support";

/**
 * The energy meter: price plans may rate `energy_kwh`, whose quantity is what the energy ledger
 * attributed to the tenant's resources in the hours starting inside the period; every invoice
 * shows the month's kWh and gCO2e as information lines priced at zero.
 */

const rates = { vcpu_hour: "0.01", memory_gib_hour: "0.002", volume_gib_month: "0.5", snapshot_gib_month: "0.2" };

interface Line {
	kind: string;
	meter: string;
	usage_period_start: string;
	rate_version_id: string;
	quantity: string;
	unit: string;
	unit_price: string;
	amount: string;
}
interface Invoice {
	id: string;
	period_start: string;
	lines: Line[];
	subtotal: string;
}

let h: BillingHarness;
let token: string;
beforeAll(async () => {
	h = await BillingHarness.start();
	await h.startWorkers();
	token = await h.operator();
});
afterAll(async () => {
	await h?.close();
});

const invoiceOf = async (tenant: string, month: string): Promise<Invoice> => {
	const list = await h.t.request<{ items: Invoice[] }>("GET", `/v1/tenants/${tenant}/invoices`, { token });
	const invoice = list.body.items.find((item) => item.period_start.startsWith(month));
	if (!invoice) throw new Error(`no invoice for ${month}`);
	return invoice;
};
const row = (line: Line) => [line.kind, line.meter, line.quantity, line.unit_price, line.amount];

/** A tenant on the plan with one small instance running for ten hours from `start`. */
async function tenantWithInstance(planId: string, start: string): Promise<{ tenant: string; instance: string }> {
	const tenant = await h.tenantOnPlan(planId);
	const at = microsOfIso(start);
	const instance = await insertInstanceLifecycle(h.db, tenant, { vcpus: 1, memoryMib: 1024 }, [
		{ status: "running", at },
		{ status: "deleted", at: at + 10n * HOUR },
	]);
	return { tenant, instance };
}

describe("the energy meter", () => {
	it("rates each hour's energy at the version its start falls in, shows kWh and gCO2e, and adjusts a corrected hour on the next invoice", async () => {
		const plan = await h.createPlan({ rates: { ...rates, energy_kwh: "0.5" } }, [
			{ effective_at: "2026-04-15T00:00:00Z", rates: { energy_kwh: "1.0" } },
		]);
		const [v1, v2] = plan.versions;
		const { tenant, instance } = await tenantWithInstance(plan.id, "2026-04-01T00:00:00Z");
		const other = (await h.t.createTenant()).id;
		const carbon = (scope1: number, scope2Location: number, scope2Market: number, embodied: number) => ({
			scope1,
			scope2Location,
			scope2Market,
			embodied,
		});
		const [, , , corrected] = await insertLedgerRows(h.db, [
			{
				hour: "2026-04-01T00:00:00Z",
				tenantId: tenant,
				resourceId: instance,
				wh: 1500,
				co2eMg: carbon(1000, 2000, 1500, 300),
			},
			{
				hour: "2026-04-14T23:00:00Z",
				tenantId: tenant,
				resourceId: instance,
				wh: 500,
				co2eMg: carbon(500, 1000, 500, 200),
			},
			{ hour: "2026-04-15T00:00:00Z", tenantId: tenant, resourceId: instance, wh: 250, co2eMg: carbon(0, 0, 0, 100) },
			{ hour: "2026-04-30T23:00:00Z", tenantId: tenant, resourceId: instance, wh: 750, co2eMg: carbon(0, 0, 0, 100) },
			{ hour: "2026-05-01T00:00:00Z", tenantId: tenant, resourceId: instance, wh: 999 },
			// Another tenant's row and an operator line are nobody's bill here.
			{ hour: "2026-04-02T00:00:00Z", tenantId: other, wh: 10_000, co2eMg: carbon(9, 9, 9, 9) },
			{ hour: "2026-04-03T00:00:00Z", tenantId: null, wh: 7777, co2eMg: carbon(9, 9, 9, 9) },
		]);

		const usage = await h.t.request<{
			items: { meter: string; quantity: string }[];
			resources: { resource_id: string; items: { meter: string; quantity: string }[] }[];
		}>("GET", `/v1/tenants/${tenant}/usage?from=2026-04-01T00:00:00Z&to=2026-05-01T00:00:00Z&group_by=resource`, {
			token,
		});
		expect(usage.body.items.find((item) => item.meter === "energy_kwh")).toEqual({
			meter: "energy_kwh",
			unit: "kWh",
			quantity: "3.000000000",
		});
		const own = usage.body.resources.find((resource) => resource.resource_id === instance);
		expect(own?.items.find((item) => item.meter === "energy_kwh")?.quantity).toBe("3.000000000");

		await h.runInvoices("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
		const april = await invoiceOf(tenant, "2026-04");
		expect(april.lines.map(row)).toEqual([
			["usage", "vcpu_hours", "10.000000000", "0.010000", "0.10"],
			["usage", "memory_gib_hours", "10.000000000", "0.002000", "0.02"],
			// 1500 + 500 Wh in hours starting before the 15th, at 0.50; 250 + 750 after, at 1.00.
			["usage", "energy_kwh", "2.000000000", "0.500000", "1.00"],
			["usage", "energy_kwh", "1.000000000", "1.000000", "1.00"],
			["information", "energy_kwh", "3.000000000", "0.000000", "0.00"],
			["information", "co2e_scope1", "1.500000000", "0.000000", "0.00"],
			["information", "co2e_scope2_location", "3.000000000", "0.000000", "0.00"],
			["information", "co2e_scope2_market", "2.000000000", "0.000000", "0.00"],
			["information", "co2e_embodied", "0.700000000", "0.000000", "0.00"],
		]);
		expect(april.lines.map((line) => line.rate_version_id)).toEqual([
			v1?.id,
			v1?.id,
			v1?.id,
			v2?.id,
			...Array(5).fill(v2?.id),
		]);
		expect(april.lines.filter((line) => line.kind === "information").map((line) => line.unit)).toEqual([
			"kWh",
			"gCO2e",
			"gCO2e",
			"gCO2e",
			"gCO2e",
		]);
		expect(april.subtotal).toBe("2.12");

		// The last provisional hour of April is corrected after April was invoiced: +1 kWh at 1.00.
		await h.db
			.update(energyAttributions)
			.set({ totalWh: 1750 })
			.where(eq(energyAttributions.id, corrected as number));
		await h.runInvoices("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z");
		const may = await invoiceOf(tenant, "2026-05");
		expect(may.lines.map((line) => [...row(line), line.usage_period_start])).toEqual([
			["usage", "energy_kwh", "0.999000000", "1.000000", "1.00", "2026-05-01T00:00:00.000Z"],
			["adjustment", "energy_kwh", "1.000000000", "1.000000", "1.00", "2026-04-01T00:00:00.000Z"],
			["information", "energy_kwh", "0.999000000", "0.000000", "0.00", "2026-05-01T00:00:00.000Z"],
			...["scope1", "scope2_location", "scope2_market", "embodied"].map((scope) => [
				"information",
				`co2e_${scope}`,
				"0.000000000",
				"0.000000",
				"0.00",
				"2026-05-01T00:00:00.000Z",
			]),
		]);
		expect(may.subtotal).toBe("2.00");
	});

	it("shows energy only as information under a plan that does not rate it", async () => {
		const plan = await h.createPlan({ rates });
		const created = await h.t.request<{ rates: Record<string, string> }>("GET", `/v1/price-plans/${plan.id}`, {
			token,
		});
		expect(created.body.rates.energy_kwh).toBe("0.000000");
		const { tenant, instance } = await tenantWithInstance(plan.id, "2026-06-03T00:00:00Z");
		await insertLedgerRows(h.db, [
			{ hour: "2026-06-03T00:00:00Z", tenantId: tenant, resourceId: instance, wh: 1234, status: "final" },
		]);
		await h.runInvoices("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z");
		const june = await invoiceOf(tenant, "2026-06");
		expect(june.lines.filter((line) => line.meter === "energy_kwh").map(row)).toEqual([
			["information", "energy_kwh", "1.234000000", "0.000000", "0.00"],
		]);
		expect(june.subtotal).toBe("0.12");
	});

	it("refuses a malformed energy rate and carries the rate over to a later version", async () => {
		const post = (energy: unknown) =>
			h.t.request<{ code: string }>("POST", "/v1/price-plans", {
				token,
				body: { name: `energy-${Math.random().toString(36).slice(2, 8)}`, rates: { ...rates, energy_kwh: energy } },
			});
		for (const bad of ["-1", "0.0000001", 0.5, "one"]) {
			const res = await post(bad);
			expect([res.status, res.body.code]).toEqual([400, "validation_failed"]);
		}
		const plan = await h.createPlan({ rates: { ...rates, energy_kwh: "0.25" } }, [
			{ effective_at: "2027-01-01T00:00:00Z", rates: { vcpu_hour: "0.02" } },
		]);
		const read = await h.t.request<{ versions: { rates: Record<string, string> }[] }>(
			"GET",
			`/v1/price-plans/${plan.id}`,
			{ token },
		);
		expect(read.body.versions.map((version) => version.rates.energy_kwh)).toEqual(["0.250000", "0.250000"]);
	});
});
