/**
 * What the create benchmarks share: a platform as `pnpm start` runs it (api and workers in one
 * process) with a zero-latency simulated driver, so operations end as fast as the workers go; a
 * fleet large enough that placement never runs out; tenants with room; and a create load spread
 * round-robin over some of them.
 */
import {
	type BenchFleet,
	type BenchPlatform,
	type BenchTenant,
	createFleet,
	createTenant,
	type LoadResult,
	load,
	startPlatform,
} from "./harness";

export const CREATE_CONNECTIONS = 32;

export interface CreateBench {
	platform: BenchPlatform;
	fleet: BenchFleet;
	tenants: BenchTenant[];
}

/**
 * Starts the platform, makes the fleet and `tenants` tenants, warms the create path up, runs
 * `measure` and stops everything.
 */
export async function withCreatePlatform<T>(
	options: { quick: boolean; tenants: number },
	measure: (bench: CreateBench) => Promise<T>,
): Promise<T> {
	const platform = await startPlatform({ env: { IGOUDAR_SIM_LATENCY_MS: "0", IGOUDAR_SIM_JITTER_MS: "0" } });
	try {
		const fleet = await createFleet(platform, { hosts: 100 });
		const tenants = await createTenants(platform, options.tenants);
		await createLoad(platform, fleet, tenants, { seconds: options.quick ? 1 : 3 });
		await drain(platform, options.quick ? 5 : 20);
		return await measure({ platform, fleet, tenants });
	} finally {
		await platform.close();
	}
}

/** `count` tenants, made ten at a time. */
export async function createTenants(platform: BenchPlatform, count: number): Promise<BenchTenant[]> {
	const tenants: BenchTenant[] = [];
	for (let i = 0; i < count; i += 10) {
		const batch = Math.min(10, count - i);
		tenants.push(...(await Promise.all(Array.from({ length: batch }, () => createTenant(platform)))));
	}
	return tenants;
}

let run = 0;

/** Instance creates over `tenants` (round-robin), each with a unique name. */
export async function createLoad(
	platform: BenchPlatform,
	fleet: BenchFleet,
	tenants: BenchTenant[],
	options: { seconds: number; connections?: number; rate?: number },
): Promise<LoadResult> {
	const prefix = `c${++run}`;
	const tenantAt = (i: number) => tenants[i % tenants.length] as BenchTenant;
	return load({
		url: `${platform.url}/v1/tenants/${tenants[0]?.tenantId}/instances`,
		method: "POST",
		connections: options.connections ?? CREATE_CONNECTIONS,
		durationSeconds: options.seconds,
		...(options.rate ? { rate: options.rate } : {}),
		vary: (i) => ({
			path: `/v1/tenants/${tenantAt(i).tenantId}/instances`,
			headers: { authorization: `Bearer ${tenantAt(i).token}` },
		}),
		body: (i: number) => ({ name: `${prefix}-${i}`, flavor: fleet.flavor, zone: fleet.zone }),
	});
}

/**
 * Waits (up to `seconds`) until the workers have ended every operation, so one measurement does
 * not pay for the provisioning of the last. Returns how many were still open.
 */
export async function drain(platform: BenchPlatform, seconds: number): Promise<number> {
	const deadline = Date.now() + seconds * 1000;
	for (;;) {
		const result = await platform.database.db.execute(
			"select count(*)::int as n from operations where status in ('pending', 'running')",
		);
		const open = (result as unknown as { rows: { n: number }[] }).rows[0]?.n ?? 0;
		if (open === 0 || Date.now() > deadline) return open;
		await new Promise((resolve) => setTimeout(resolve, 250));
	}
}

/** The load's own refusals are failures of the benchmark, not figures. */
export function assertClean(label: string, result: LoadResult): void {
	if (result.errors > 0 || result.non2xx > result.requests * 0.01) {
		throw new Error(`${label}: ${result.non2xx} non-2xx answers and ${result.errors} errors of ${result.requests}`);
	}
}
