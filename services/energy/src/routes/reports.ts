import { type App, contextOf, errorResponses, TenantParams, Timestamp } from "@igoudar/kit";
import { Type } from "typebox";
import { siteBalanceGet, tenantEnergyGet } from "../app/reports";
import type { EnergyDeps } from "../deps";
import { BalanceSchema, EnergyReportSchema } from "./schemas";
import { SiteParams } from "./sites";

const tags = ["energy"];

const Window = {
	from: Type.Optional(Timestamp("Start of the window (RFC 3339), inclusive.")),
	to: Type.Optional(Timestamp("End of the window, exclusive; default the end of the current hour.")),
};

const EnergyQuery = Type.Object(
	{
		...Window,
		granularity: Type.Optional(
			Type.Union([Type.Literal("hour"), Type.Literal("day"), Type.Literal("month")], {
				description:
					"Sum per UTC hour (default; windows up to 31 days, default the last 24 h), day (up to 366 days, default 30) or month (up to 3660 days, default 366).",
			}),
		),
		group_by: Type.Optional(
			Type.Union([Type.Literal("resource"), Type.Literal("zone")], {
				description: "Also split each period per resource or per zone.",
			}),
		),
	},
	{ additionalProperties: false },
);

const BalanceQuery = Type.Object(Window, { additionalProperties: false });

export async function reportRoutes(app: App, deps: EnergyDeps): Promise<void> {
	app.get(
		"/v1/tenants/:tenant_id/energy",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "A tenant's energy and carbon per hour, day or month",
				description:
					"The tenant's rows of the hourly ledger, summed: dynamic, idle and facility energy in Wh, Scope 1, Scope 2 " +
					"(location and market based) and embodied carbon in g CO2e, and the carbon-free share. Provisional rows " +
					"appear within an hour after the hour ends; final rows never change.",
				operationId: "tenantEnergyGet",
				tags,
				params: TenantParams,
				querystring: EnergyQuery,
				response: { 200: EnergyReportSchema },
			},
		},
		async (request) => tenantEnergyGet(contextOf(request, deps.db), request.params.tenant_id, request.query),
	);

	app.get(
		"/v1/sites/:site_id/energy-balance",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "A site's hourly energy balance",
				description:
					"Per computed hour: the site meter against the sum of every tenant's rows and each disclosed operator " +
					"line; `residual_wh` is always 0. Windows up to 31 days, default the last 24 h.",
				operationId: "siteEnergyBalanceGet",
				tags,
				params: SiteParams,
				querystring: BalanceQuery,
				response: { 200: BalanceSchema, ...errorResponses("not_found") },
			},
		},
		async (request) => siteBalanceGet(contextOf(request, deps.db), request.params.site_id, request.query),
	);
}
