import type { ServiceModule } from "@igoudar/kit";
import type { ComputeDeps } from "./deps";
import { consistencyRoutes } from "./routes/consistency";
import { flavorRoutes } from "./routes/flavors";
import { hostRoutes } from "./routes/hosts";
import { instanceRoutes } from "./routes/instances";
import { operationRoutes } from "./routes/operations";
import { placementGroupRoutes } from "./routes/placement-groups";
import { placementSettingsRoutes } from "./routes/placement-settings";
import { zoneRoutes } from "./routes/zones";

export { INSTANCE_QUOTA_RESOURCES, instanceQuota, releaseInstanceClaims } from "./app/claims";
export {
	type AuditWriter,
	CONSISTENCY_CHECKERS,
	type ConsistencyChange,
	type ConsistencyChecker,
	type ConsistencyDrift,
	type ConsistencyExtension,
	type ConsistencyRepair,
	type ConsistencyReport,
	consistencyCheckers,
	DRIFT_KINDS,
	type DriftCounts,
	type DriftEntry,
	type DriftKind,
	driftKinds,
	findConsistencyDrift,
	type QuotaChange,
	type QuotaDrift,
	repairConsistencyDrift,
	systemAudit,
} from "./app/consistency";
export { estimatedPower } from "./app/hosts";
export {
	counterCause,
	type QuotaRecount,
	type QuotaTally,
	quotaChecker,
	REPAIR_ACTION,
	unique,
} from "./app/quota-consistency";
export { lockTenantForPlacement } from "./db/capacity";
export { findInstanceById, findInstancesByIds, transitionInstance, transitionInstances } from "./db/instances";
export { findZoneByRef } from "./db/zones";
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
		{ name: "system", description: "Consistency of the platform's counters with its resources (operators)." },
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
			consistencyRoutes,
		]) {
			await app.register(async (scope) => routes(scope as typeof app, deps));
		}
	},
};
