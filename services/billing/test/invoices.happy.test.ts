import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BillingHarness, HOUR, insertInstanceLifecycle, insertStorageLifecycle, microsOfIso } from "./support";

let h: BillingHarness;
beforeAll(async () => {
	h = await BillingHarness.start();
	await h.startWorkers();
});
afterAll(async () => {
	await h?.close();
});

interface Invoice {
	id: string;
	number: string | null;
	status: string;
	currency: string;
	lines: { kind: string; meter: string; quantity: string; unit: string; unit_price: string; amount: string }[];
	subtotal: string;
	tax: string;
	total: string;
}

describe("price plans, usage and invoices through the API", () => {
	it("meters a month, invoices it once, finalizes it with a number and freezes it", async () => {
		const plan = await h.createPlan({
			currency: "MAD",
			rates: { vcpu_hour: "0.0125", memory_gib_hour: "0.004", volume_gib_month: "0.35", snapshot_gib_month: "0.1" },
			tax_rate: "0.2",
		});
		const tenant = await h.tenantOnPlan(plan.id);
		const may = microsOfIso("2026-05-01T00:00:00Z");
		// 2 vCPU / 4 GiB running 10 h, stopped 5 h (not billed), running 2 h more.
		await insertInstanceLifecycle(h.db, tenant, { vcpus: 2, memoryMib: 4096 }, [
			{ status: "provisioning", at: may },
			{ status: "running", at: may + HOUR },
			{ status: "stopped", at: may + 11n * HOUR },
			{ status: "running", at: may + 16n * HOUR },
			{ status: "deleted", at: may + 18n * HOUR },
		]);
		// 100 GiB for 365 h (half a billing month), then grown to 200 GiB for the rest of May.
		await insertStorageLifecycle(h.db, tenant, "volume", [
			{ status: "available", at: may, sizeGib: 100 },
			{ status: "resizing", at: may + 365n * HOUR, sizeGib: 200 },
		]);
		const token = await h.operator();
		const usage = await h.t.request<{ items: { meter: string; quantity: string }[] }>(
			"GET",
			`/v1/tenants/${tenant}/usage?from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z`,
			{ token },
		);
		expect(usage.status).toBe(200);
		expect(Object.fromEntries(usage.body.items.map((i) => [i.meter, i.quantity]))).toEqual({
			vcpu_hours: "24.000000000",
			memory_gib_hours: "48.000000000",
			// 100 x 365/730 + 200 x (744 - 365)/730
			volume_gib_months: "153.835616438",
			snapshot_gib_months: "0.000000000",
			energy_kwh: "0.000000000",
		});

		const shares = await h.t.request<{ resources: { resource_type: string; items: { meter: string }[] }[] }>(
			"GET",
			`/v1/tenants/${tenant}/usage?from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z&group_by=resource`,
			{ token },
		);
		expect(shares.body.resources.map((r) => [r.resource_type, r.items.map((i) => i.meter)]).sort()).toEqual([
			["instance", ["vcpu_hours", "memory_gib_hours"]],
			["volume", ["volume_gib_months"]],
		]);
		// With no window: this month so far, the volume still counting up to now.
		const now = await h.t.request<{ from: string; items: { meter: string; quantity: string }[] }>(
			"GET",
			`/v1/tenants/${tenant}/usage`,
			{ token },
		);
		expect(now.body.from).toBe(
			new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString(),
		);
		expect(now.body.items.find((i) => i.meter === "volume_gib_months")?.quantity).not.toBe("0.000000000");

		await h.runInvoices("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z");
		const list = await h.t.request<{ items: Invoice[] }>("GET", `/v1/tenants/${tenant}/invoices`, { token });
		expect(list.body.items).toHaveLength(1);
		const invoice = list.body.items[0] as Invoice;
		expect(invoice).toMatchObject({ status: "draft", number: null, currency: "MAD" });
		expect(
			invoice.lines.filter((l) => l.kind !== "information").map((l) => [l.meter, l.quantity, l.unit_price, l.amount]),
		).toEqual([
			["vcpu_hours", "24.000000000", "0.012500", "0.30"],
			["memory_gib_hours", "48.000000000", "0.004000", "0.19"],
			["volume_gib_months", "153.835616438", "0.350000", "53.84"],
		]);
		expect([invoice.subtotal, invoice.tax, invoice.total]).toEqual(["54.33", "10.87", "65.20"]);

		// Operators see it across tenants, filtered by month; the tenant's own viewer reads it too.
		const all = await h.t.request<{ items: Invoice[] }>("GET", "/v1/invoices?period_start=2026-05-01T00:00:00Z", {
			token,
		});
		expect(all.body.items.map((i) => i.id)).toContain(invoice.id);
		const viewer = (await h.t.principal(tenant, "viewer")).token;
		const own = await h.t.request<Invoice>("GET", `/v1/tenants/${tenant}/invoices/${invoice.id}`, { token: viewer });
		expect(own.body.total).toBe("65.20");
		expect((await h.t.request("GET", "/v1/invoices", { token: viewer })).status).toBe(403);

		// Running the month again makes nothing new.
		await h.runInvoices("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z");
		const again = await h.t.request<{ items: Invoice[] }>("GET", `/v1/tenants/${tenant}/invoices`, { token });
		expect(again.body.items.map((i) => i.id)).toEqual([invoice.id]);

		const path = `/v1/tenants/${tenant}/invoices/${invoice.id}`;
		const finalized = await h.t.request<Invoice>("POST", `${path}/finalize`, { token });
		expect(finalized.status).toBe(200);
		expect(finalized.body.status).toBe("finalized");
		expect(finalized.body.number).toMatch(/^IGD-\d{4}-\d{6}$/);
		const twice = await h.t.request<{ code: string }>("POST", `${path}/finalize`, { token });
		expect(twice.status).toBe(409);
		expect(twice.body.code).toBe("conflict");

		const csv = await h.t.app.inject({
			method: "GET",
			url: path,
			headers: { authorization: `Bearer ${token}`, accept: "text/csv" },
		});
		expect(csv.statusCode).toBe(200);
		expect(csv.headers["content-type"]).toMatch(/^text\/csv/);
		expect(csv.body.split("\r\n")).toEqual([
			"kind,meter,usage_period_start,rate_version_id,quantity,unit,unit_price,amount",
			`usage,vcpu_hours,2026-05-01T00:00:00.000Z,${plan.versions[0]?.id},24.000000000,vCPU-hour,0.012500,0.30`,
			`usage,memory_gib_hours,2026-05-01T00:00:00.000Z,${plan.versions[0]?.id},48.000000000,GiB-hour,0.004000,0.19`,
			`usage,volume_gib_months,2026-05-01T00:00:00.000Z,${plan.versions[0]?.id},153.835616438,GiB-month,0.350000,53.84`,
			`information,energy_kwh,2026-05-01T00:00:00.000Z,${plan.versions[0]?.id},0.000000000,kWh,0.000000,0.00`,
			...["scope1", "scope2_location", "scope2_market", "embodied"].map(
				(scope) =>
					`information,co2e_${scope},2026-05-01T00:00:00.000Z,${plan.versions[0]?.id},0.000000000,gCO2e,0.000000,0.00`,
			),
			"",
		]);
	});
});
