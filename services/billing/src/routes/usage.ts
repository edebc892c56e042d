import { type App, contextOf, TenantParams, Timestamp } from "@igoudar/kit";
import { Type } from "typebox";
import { usageGet } from "../app/usage";
import type { BillingDeps } from "../deps";
import { UsageSchema } from "./schemas";

const UsageQuery = Type.Object(
	{
		from: Type.Optional(Timestamp("Start of the window (RFC 3339); default the start of this month (UTC).")),
		to: Type.Optional(Timestamp("End of the window, exclusive; default now.")),
		group_by: Type.Optional(Type.Literal("resource", { description: "Also list each resource's share." })),
	},
	{ additionalProperties: false },
);

export async function usageRoutes(app: App, deps: BillingDeps): Promise<void> {
	app.get(
		"/v1/tenants/:tenant_id/usage",
		{
			config: { access: { role: "viewer", tenant: true } },
			schema: {
				summary: "Metered usage over a window",
				description:
					"Computed from the resources' lifetimes, to the microsecond: running time for instances, allocated GiB over time for volumes and snapshots. Resources still running count up to now.",
				operationId: "usageGet",
				tags: ["billing"],
				params: TenantParams,
				querystring: UsageQuery,
				response: { 200: UsageSchema },
			},
		},
		async (request) => usageGet(contextOf(request, deps.db), request.params.tenant_id, request.query),
	);
}
