import type { ServiceModule } from "@igoudar/kit";
import type { ComputeDeps } from "./deps";
import { flavorRoutes } from "./routes/flavors";
import { hostRoutes } from "./routes/hosts";
import { instanceRoutes } from "./routes/instances";
import { operationRoutes } from "./routes/operations";
import { placementGroupRoutes } from "./routes/placement-groups";
import { placementSettingsRoutes } from "./routes/placement-settings";
import { zoneRoutes } from "./routes/zones";

export { releaseInstanceClaims } from "./app/claims";
export { estimatedPower } from "./app/hosts";
export { findInstanceById, transitionInstance } from "./db/instances";
export type { ComputeDeps } from "./deps";
export { type ComputeJobName, computeJobs } from "./jobs";

export const computeService: ServiceModule<ComputeDeps> = {
	name: "compute",
	tags: [
		{ name: "zones", description: "Failure domains, each under one jurisdiction." },
		{ name: "hosts", description: "Hypervisors: capacity, allocation ratios and power profile (operators)." },
		{ name: "flavors", description: "Instance sizes." },
		{ name: "instances", description: "Virtual machines of a tenant." },
		{ name: "placement-groups", description: "Affinity and anti-affinity between a tenant's instances." },
		{ name: "placement", description: "How the scheduler weighs hosts (operators)." },
		{ name: "operations", description: "Progress and outcome of long-running work." },
	],
	async register(app, deps) {
		for (const routes of [
			zoneRoutes,
			hostRoutes,
			flavorRoutes,
			placementSettingsRoutes,
			placementGroupRoutes,
			instanceRoutes,
			operationRoutes,
		]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
