/**
 * Read path: an authenticated, tenant-scoped `GET /v1/tenants/{t}/instances/{id}` (the token
 * verified, the account and tenant checked, the row read and serialised through the response
 * schema) against, in the same run:
 * - the floor: a bare Fastify route running the same row read as a named prepared statement on
 *   raw pg, no auth (bench/floor-server.ts);
 * - the ceiling: a hello-world route of the same `fastify`;
 * and a page of 50 instances against the same list on the floor server.
 */
import { fileURLToPath } from "node:url";
import { drain } from "./creates";
import {
	apiOk,
	type BenchFigure,
	type Benchmark,
	createFleet,
	createTenant,
	figure,
	instanceBody,
	type LoadOptions,
	load,
	startPlatform,
	startScript,
	warmUp,
} from "./harness";

const CONNECTIONS = 32;
const INSTANCES = 60;

export const benchmark: Benchmark = async ({ quick }) => {
	const seconds = quick ? 2 : 10;
	const warm = quick ? 1 : 3;
	const platform = await startPlatform();
	const fleet = await createFleet(platform, { hosts: 4 });
	const tenant = await createTenant(platform);
	const body = instanceBody(fleet, "read");
	let instanceId = "";
	for (let i = 0; i < INSTANCES; i++) {
		const created = await apiOk<{ instance: { id: string } }>(
			platform.url,
			"POST",
			`/v1/tenants/${tenant.tenantId}/instances`,
			202,
			{ token: tenant.token, body: body(i) },
		);
		instanceId = created.instance.id;
	}
	// The workers provision what was just created; measuring starts once they are done.
	await drain(platform, 30);
	const floor = await startScript(fileURLToPath(new URL("./floor-server.ts", import.meta.url)), {
		DATABASE_URL: platform.databaseUrl,
	});
	const auth = { authorization: `Bearer ${tenant.token}` };
	const measure = async (options: Omit<LoadOptions, "connections" | "durationSeconds">) => {
		const run = { ...options, connections: CONNECTIONS, durationSeconds: seconds };
		await warmUp(run, warm);
		const result = await load(run);
		if (result.non2xx > 0 || result.errors > 0) {
			throw new Error(`${options.url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
		}
		return result;
	};
	try {
		const tenantPath = `/v1/tenants/${tenant.tenantId}/instances`;
		const get = await measure({ url: `${platform.url}${tenantPath}/${instanceId}`, headers: auth });
		const floorGet = await measure({ url: `${floor.url}/tenants/${tenant.tenantId}/instances/${instanceId}` });
		const hello = await measure({ url: `${floor.url}/hello` });
		const list = await measure({ url: `${platform.url}${tenantPath}?limit=50`, headers: auth });
		const floorList = await measure({ url: `${floor.url}/tenants/${tenant.tenantId}/instances` });
		const figures: BenchFigure[] = [
			figure({
				benchmark: "read-path",
				metric: "GET instance",
				ours: get.perSecond,
				unit: "req/s",
				baseline: floorGet.perSecond,
				baselineName: "prepared SQL on bare Fastify",
				goal: { ratioAtLeast: 0.5 },
				note: `${CONNECTIONS} connections; p50 ${get.p50} ms, p99 ${get.p99} ms (floor p99 ${floorGet.p99} ms)`,
			}),
			figure({
				benchmark: "read-path",
				metric: "GET instance",
				ours: get.perSecond,
				unit: "req/s",
				baseline: hello.perSecond,
				baselineName: "hello-world Fastify",
				note: "Fastify with a large response schema keeps about 0.25 of its hello-world rate",
			}),
			figure({
				benchmark: "read-path",
				metric: "list 50 instances",
				ours: list.perSecond,
				unit: "req/s",
				baseline: floorList.perSecond,
				baselineName: "prepared SQL on bare Fastify",
				note: `p99 ${list.p99} ms (floor p99 ${floorList.p99} ms)`,
			}),
		];
		return figures;
	} finally {
		floor.stop();
		await platform.close();
	}
};
