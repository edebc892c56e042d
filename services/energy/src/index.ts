import type { ServiceModule } from "@igoudar/kit";
import type { EnergyDeps } from "./deps";
import { methodologyRoutes } from "./routes/methodology";
import { readingRoutes } from "./routes/readings";
import { reportRoutes } from "./routes/reports";
import { siteRoutes } from "./routes/sites";

export { type AttributionPass, attributeDueHours, settleSiteHour } from "./app/attribution";
export { DEMO_HOURS, feedDemoSite } from "./app/demo";
export { demoSupply } from "./app/demo-supply";
export { storeReadings } from "./app/readings";
export { DEMO_SITE, DEMO_ZONE, ensureDemoSite } from "./db/demo";
export { latestEnergyFigures, type SiteFigures } from "./db/metrics";
export { allSites } from "./db/sites";
export type { EnergyDeps } from "./deps";
export {
	ENERGY_SCHEDULER_ID,
	type EnergyJobName,
	energyAttributionHandler,
	energyJobs,
	scheduleEnergyAttribution,
} from "./jobs";
export { type EnergySettings, energySettingsFromEnv } from "./settings";

export const energyService: ServiceModule<EnergyDeps> = {
	name: "energy",
	tags: [
		{
			name: "energy",
			description: "Metered sites, hourly readings, and the hourly energy and carbon ledger of tenants and sites.",
		},
	],
	async register(app, deps) {
		for (const routes of [siteRoutes, readingRoutes, reportRoutes, methodologyRoutes]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
