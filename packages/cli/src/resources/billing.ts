import type { Invoice, InvoiceRunCreate, PricePlanCreate, RequestBodyOf } from "@igoudar/sdk";
import { UsageError } from "../exit-codes.js";
import { fields, table } from "../output.js";
import type { Field, Resource } from "../table.js";
import { collect, pageSize, standard, waitFlag } from "../table.js";

/** The four rates of a plan or a rate version: decimal strings, exact. */
const RATES: Field[] = [
	{ key: "rates.vcpu_hour", help: "price of a vCPU-hour", example: "0.02" },
	{ key: "rates.memory_gib_hour", help: "price of a GiB-hour of memory", example: "0.003" },
	{ key: "rates.volume_gib_month", help: "price of a GiB-month of volume", example: "0.4" },
	{ key: "rates.snapshot_gib_month", help: "price of a GiB-month of snapshot", example: "0.1" },
	{ key: "rates.energy_kwh", help: "price of an attributed kWh (default 0)" },
];
const TAX: Field = { key: "tax_rate", help: "tax as a decimal fraction (0.2 for 20 %)" };
const EFFECTIVE: Field = { key: "effective_at", help: "when the rates apply from (RFC 3339)" };
const ALL_TENANTS = { flags: "--all-tenants", help: "every tenant's (operators)" };

/** An invoice for people: its totals, then its lines as a table. */
function showInvoice(result: unknown): string {
	const { lines, ...head } = result as Invoice;
	return `${fields(head)}\n${table(lines, ["kind", "meter", "quantity", "unit", "unit_price", "amount"])}`;
}

export const billing: Resource[] = [
	{
		name: "price-plans",
		summary: "Price plans and their effective-dated rate versions (operators)",
		columns: ["id", "name", "currency", "tax_rate", "rates.vcpu_hour", "rates.volume_gib_month", "created_at"],
		actions: [
			standard.list("List price plans", ({ client }, query) => client.pricePlans.list(query)),
			standard.get("price plan", ({ client }, id) => client.pricePlans.get(id)),
			standard.create(
				"price plan",
				[
					{ key: "name", required: true, help: "unique name", example: "standard" },
					{ key: "currency", help: "ISO 4217 code (default MAD)" },
					TAX,
					EFFECTIVE,
					...RATES,
				],
				({ client, body }) => client.pricePlans.create(body as PricePlanCreate),
				{
					examples: [
						"igoudar price-plans create --name standard --currency MAD --tax-rate 0.2 --vcpu-hour 0.02 --memory-gib-hour 0.003 --volume-gib-month 0.4 --snapshot-gib-month 0.1",
					],
				},
			),
			{
				name: "add-version",
				summary: "Change a plan's rates or tax from a date on (earlier usage keeps its rates)",
				args: ["<price-plan>"],
				body: [{ ...EFFECTIVE, required: true, example: "2027-01-01T00:00:00Z" }, TAX, ...RATES],
				run: ({ client, args, body }) =>
					client.pricePlans.addVersion(args[0] ?? "", body as RequestBodyOf<"pricePlanVersionCreate">),
			},
			{
				name: "effective",
				summary: "The plan the tenant is invoiced under (its own, else the default)",
				run: (c) => c.client.pricePlans.forTenant(c.tenant()),
			},
		],
	},
	{
		name: "invoices",
		summary: "A tenant's monthly invoices; making them for ended months (operators)",
		columns: ["id", "tenant_id", "period_start", "status", "number", "currency", "total"],
		actions: [
			{
				name: "list",
				summary: "List the tenant's invoices, or every tenant's with --all-tenants",
				list: true,
				query: [
					{ key: "status", type: ["draft", "finalized"], help: "only in this state" },
					{ key: "period_start", help: "only of the month starting then (with --all-tenants)" },
					{ key: "tenant_id", flag: "of-tenant", help: "only this tenant's (with --all-tenants)" },
				],
				flags: [ALL_TENANTS],
				run: async (c) => {
					const query = { ...c.query, ...pageSize(c) };
					if (c.flags.allTenants) return collect(c.client.invoices.listAll(query), c.limit);
					if (c.query.period_start || c.query.tenant_id)
						throw new UsageError("--period-start and --of-tenant need --all-tenants");
					return collect(c.client.invoices.list(c.tenant(), query), c.limit);
				},
			},
			{
				name: "get",
				summary: "Show an invoice with its lines, or print it as CSV",
				args: ["<invoice>"],
				flags: [{ flags: "--csv", help: "the CSV form (one row per line), for spreadsheets" }],
				show: showInvoice,
				run: (c) =>
					c.flags.csv
						? c.client.invoices.csv(c.tenant(), c.args[0] ?? "", { signal: c.signal })
						: c.client.invoices.get(c.tenant(), c.args[0] ?? "", { signal: c.signal }),
			},
			{
				name: "finalize",
				summary: "Give a draft invoice its number; it is frozen from then on",
				args: ["<invoice>"],
				show: showInvoice,
				run: (c) => c.client.invoices.finalize(c.tenant(), c.args[0] ?? ""),
			},
			{
				name: "run",
				summary: "Make every tenant's invoices for ended months (operators)",
				body: [
					{
						key: "period_start",
						required: true,
						help: "first instant of a month (UTC)",
						example: "2026-11-01T00:00:00Z",
					},
					{
						key: "period_end",
						required: true,
						help: "first instant of a later month, exclusive",
						example: "2026-12-01T00:00:00Z",
					},
				],
				wait: true,
				run: (c) => c.client.invoices.run(c.body as InvoiceRunCreate, waitFlag(c)),
			},
		],
	},
	{
		name: "invoice-runs",
		summary: "Invoice runs: what a run made and its operation (operators)",
		columns: ["id", "period_start", "period_end", "invoices_made", "operation.status"],
		actions: [standard.get("invoice run", ({ client }, id) => client.invoices.getRun(id))],
	},
	{
		name: "usage",
		summary: "A tenant's metered usage, to the second",
		columns: ["meter", "quantity", "unit"],
		actions: [
			{
				name: "get",
				summary: "Usage over a window (default: this month so far)",
				query: [
					{ key: "from", help: "start (RFC 3339)", example: "2026-12-01T00:00:00Z" },
					{ key: "to", help: "end, exclusive (default now)" },
				],
				flags: [{ flags: "--by-resource", help: "also each resource's share (json/yaml)" }],
				run: (c) =>
					c.client.usage.get(c.tenant(), { ...c.query, ...(c.flags.byResource ? { group_by: "resource" } : {}) }),
			},
		],
	},
];
