import { type App, contextOf, errorResponses } from "@igoudar/kit";
import { readingsPost } from "../app/readings";
import type { EnergyDeps } from "../deps";
import { ReadingsBatchSchema, ReadingsResultSchema } from "./schemas";
import { SiteParams } from "./sites";

export async function readingRoutes(app: App, deps: EnergyDeps): Promise<void> {
	app.post(
		"/v1/sites/:site_id/readings",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Record a batch of hourly meter readings",
				description:
					"The site meter, the supply mix, the grid's carbon factor and each host's energy, per ended hour. " +
					"Idempotent per meter and hour: a repeat changes nothing, a corrected value replaces the old one and the " +
					"hour is computed again, until the hour is final (24 h after it ends unless the operator set " +
					"IGOUDAR_ENERGY_FINAL_AFTER_HOURS; then 409 invalid_state " +
					"and nothing of the batch is stored).",
				operationId: "siteReadingsRecord",
				tags: ["energy"],
				params: SiteParams,
				body: ReadingsBatchSchema,
				response: { 200: ReadingsResultSchema, ...errorResponses("not_found", "invalid_state") },
			},
		},
		async (request) => readingsPost(contextOf(request, deps.db), request.params.site_id, request.body, deps.settings),
	);
}
