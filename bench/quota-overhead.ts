/**
 * Quota overhead: creates/s with every request in one hot tenant against the same load spread
 * over 100 tenants, in the same run. One tenant's creates contend for its quota rows and its
 * operation slot; spread, they contend for nothing but the machine.
 */
import { assertClean, CREATE_CONNECTIONS, createLoad, createTenants, drain, withCreatePlatform } from "./creates";
import { type Benchmark, figure } from "./harness";

export const benchmark: Benchmark = async ({ quick }) => {
	const seconds = quick ? 2 : 10;
	return withCreatePlatform(
		{ quick, tenants: quick ? 10 : 100 },
		async ({ platform, fleet, tenants: spreadTenants }) => {
			const [hot] = await createTenants(platform, 1);
			if (!hot) throw new Error("no tenant");
			const spread = await createLoad(platform, fleet, spreadTenants, { seconds });
			assertClean("spread creates", spread);
			await drain(platform, quick ? 5 : 30);
			const oneTenant = await createLoad(platform, fleet, [hot], { seconds });
			assertClean("hot tenant creates", oneTenant);
			return [
				figure({
					benchmark: "quota-overhead",
					metric: "creates/s, one hot tenant",
					ours: oneTenant.perSecond,
					unit: "req/s",
					baseline: spread.perSecond,
					baselineName: `spread over ${spreadTenants.length} tenants`,
					goal: { ratioAtLeast: 0.8 },
					note:
						`${CREATE_CONNECTIONS} connections; p99 ${oneTenant.p99} ms hot, ${spread.p99} ms spread. One tenant's ` +
						"creates hold its operation slot and quota rows one transaction at a time, but creates that arrive " +
						"together commit together (group commit, docs/design-notes.md), so the hot tenant's creates share " +
						"transactions instead of queueing one behind another",
				}),
			];
		},
	);
};
