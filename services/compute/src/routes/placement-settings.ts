import { type App, contextOf, namedSchema, resourceSchema } from "@igoudar/kit";
import { Type } from "typebox";
import { placementSettingsGet, placementSettingsUpdate } from "../app/placement-settings";
import type { ComputeDeps } from "../deps";

const tags = ["placement"];

const Strategy = Type.Union([Type.Literal("spread"), Type.Literal("pack")], {
	description: "spread: least loaded host first (headroom); pack: most loaded host that fits (idle hosts can sleep).",
});

const PlacementSettingsSchema = resourceSchema(
	"PlacementSettings",
	Type.Object({ strategy: Strategy }, { additionalProperties: false }),
	{ strategy: "spread" },
);

const PlacementSettingsUpdateBody = namedSchema(
	"PlacementSettingsUpdate",
	Type.Object({ strategy: Type.Optional(Strategy) }, { additionalProperties: false, minProperties: 1 }),
	{ strategy: "pack" },
);

export async function placementSettingsRoutes(app: App, deps: ComputeDeps): Promise<void> {
	app.get(
		"/v1/placement-settings",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Get the placement settings",
				operationId: "placementSettingsGet",
				tags,
				response: { 200: PlacementSettingsSchema },
			},
		},
		async (request) => placementSettingsGet(contextOf(request, deps.db)),
	);

	app.patch(
		"/v1/placement-settings",
		{
			config: { access: { role: "operator" } },
			schema: {
				summary: "Change the placement strategy",
				description: "Applies to placements made from now on; running instances stay where they are.",
				operationId: "placementSettingsUpdate",
				tags,
				body: PlacementSettingsUpdateBody,
				response: { 200: PlacementSettingsSchema },
			},
		},
		async (request) => placementSettingsUpdate(contextOf(request, deps.db), request.body),
	);
}
