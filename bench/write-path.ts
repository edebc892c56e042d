/**
 * Write path: instance creates/s through the API (token, validation, the create transaction,
 * the 202) against the same statements run directly from Node on raw pg at the same concurrency
 * (bench/sql-creates.ts); then the latency at half the peak rate, paced open-loop.
 */
import { assertClean, CREATE_CONNECTIONS, createLoad, drain, withCreatePlatform } from "./creates";
import { type Benchmark, figure } from "./harness";
import { sqlCreates } from "./sql-creates";

export const benchmark: Benchmark = async ({ quick }) => {
	const seconds = quick ? 2 : 10;
	return withCreatePlatform({ quick, tenants: quick ? 5 : 20 }, async ({ platform, fleet, tenants }) => {
		const peak = await createLoad(platform, fleet, tenants, { seconds });
		assertClean("creates at peak", peak);
		const backlog = await drain(platform, quick ? 5 : 30);
		const floor = await sqlCreates({
			databaseUrl: platform.databaseUrl,
			tenantIds: tenants.map((t) => t.tenantId),
			flavor: fleet.flavor,
			zone: fleet.zone,
			concurrency: CREATE_CONNECTIONS,
			seconds,
			prefix: "sql",
		});
		await drain(platform, quick ? 5 : 30);
		const rate = Math.max(1, Math.round(peak.perSecond / 2));
		// Paced: enough connections that a slow answer never holds back the next request.
		const half = await createLoad(platform, fleet, tenants, { seconds: quick ? 2 : 15, rate, connections: 128 });
		assertClean("creates at half the peak", half);
		return [
			figure({
				benchmark: "write-path",
				metric: "creates/s",
				ours: peak.perSecond,
				unit: "req/s",
				baseline: floor.perSecond,
				baselineName: "same SQL from Node",
				note: `${CREATE_CONNECTIONS} connections over ${tenants.length} tenants, ${fleet.flavor} on 100 hosts; p99 ${peak.p99} ms at peak (SQL p99 ${floor.p99.toFixed(0)} ms); ${backlog} operations still open 30 s after the peak run`,
			}),
			figure({
				benchmark: "write-path",
				metric: `p99 at half the peak (${rate}/s)`,
				ours: half.p99,
				unit: "ms",
				goal: { oursAtMost: 1000 },
				note: `achieved ${half.perSecond.toFixed(0)} creates/s of ${rate}/s offered; p50 ${half.p50} ms, max ${half.max} ms`,
			}),
		];
	});
};
