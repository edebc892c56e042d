import { readFile } from "node:fs/promises";
import type { EnergyReadingsBatch, SiteCreate } from "@igoudar/sdk";
import { UsageError } from "../exit-codes.js";
import type { Field, Resource } from "../table.js";
import { standard } from "../table.js";

const WINDOW: Field[] = [
	{ key: "from", help: "start (RFC 3339)" },
	{ key: "to", help: "end, exclusive (RFC 3339)" },
];

/** `--file readings.json`, or `--file -` for standard input: a body too rich for flags. */
async function jsonFile(path: unknown): Promise<unknown> {
	if (typeof path !== "string") throw new UsageError("--file is required (a JSON file, or - for standard input)");
	let text: string;
	if (path === "-") {
		const chunks: Buffer[] = [];
		for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
		text = Buffer.concat(chunks).toString("utf8");
	} else text = await readFile(path, "utf8").catch(() => Promise.reject(new UsageError(`cannot read ${path}`)));
	try {
		return JSON.parse(text);
	} catch {
		throw new UsageError(`${path === "-" ? "standard input" : path} is not JSON`);
	}
}

export const energy: Resource[] = [
	{
		name: "sites",
		summary: "Metered sites feeding zones, their hourly readings and energy balance (operators)",
		columns: ["id", "name", "zones", "created_at"],
		actions: [
			standard.list("List sites", ({ client }, query) => client.sites.list(query)),
			standard.get("site", ({ client }, id) => client.sites.get(id)),
			standard.create(
				"site",
				[
					{ key: "name", required: true, help: "unique name", example: "dakhla" },
					{ key: "zones", flag: "zone", type: "list", required: true, help: "zones it feeds", example: "dakhla-1" },
				],
				({ client, body }) => client.sites.create(body as SiteCreate),
			),
			{
				name: "readings",
				summary: "Record ended hours' readings (site meter, hosts' Wh, supply mix, grid carbon) from JSON",
				args: ["<site>"],
				flags: [{ flags: "--file <path>", help: 'a JSON body {"items": [...]}, or - for standard input' }],
				columns: ["hour", "status"],
				examples: [
					"igoudar sites readings 4e5f... --file readings.json",
					"collect-hour | igoudar sites readings 4e5f... --file -",
				],
				run: async (c) =>
					c.client.sites.recordReadings(c.args[0] ?? "", (await jsonFile(c.flags.file)) as EnergyReadingsBatch),
			},
			{
				name: "balance",
				summary: "The meter against every tenant and disclosed line, hour by hour",
				args: ["<site>"],
				query: WINDOW,
				columns: ["hour", "meter_wh", "it_wh", "tenants_wh", "residual_wh", "pue", "cfe_fraction", "status"],
				run: (c) => c.client.sites.balance(c.args[0] ?? "", c.query),
			},
		],
	},
	{
		name: "energy",
		summary: "A tenant's energy and carbon, per hour, day or month",
		columns: ["hour", "day", "month", "zone", "resource_id", "energy_wh", "co2e_g", "cfe_fraction", "status"],
		actions: [
			{
				name: "get",
				summary: "Energy (Wh) and carbon (gCO2e) over a window, optionally per resource or zone",
				query: [
					...WINDOW,
					{ key: "granularity", type: ["hour", "day", "month"], help: "rows per (default hour)" },
					{ key: "group_by", type: ["resource", "zone"], help: "split each row" },
				],
				examples: ["igoudar energy get --granularity day --group-by resource"],
				run: (c) => c.client.energy.get(c.tenant(), c.query),
			},
		],
	},
	{
		name: "methodology",
		summary: "The attribution methodology versions and their coefficients",
		columns: ["version", "effective_from", "hours_per_year", "diesel_gco2e_per_kwh", "residual_mix_gco2e_per_kwh"],
		actions: [{ name: "list", summary: "Every methodology version", run: ({ client }) => client.energy.methodology() }],
	},
];
