import type { App } from "@igoudar/kit";
import { methodologyList } from "../app/methodology";
import { MethodologyListSchema } from "./schemas";

export async function methodologyRoutes(app: App): Promise<void> {
	app.get(
		"/v1/methodology",
		{
			config: { access: { role: "viewer" } },
			schema: {
				summary: "The energy and carbon methodology versions and their coefficients",
				description: "Every ledger row names the version it was computed with; versions are never edited.",
				operationId: "methodologyList",
				tags: ["energy"],
				response: { 200: MethodologyListSchema },
			},
		},
		async () => methodologyList(),
	);
}
