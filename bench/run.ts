/**
 * Placement benchmark. Prints, for the same machine and the same run:
 * - an authenticated read (the baseline: auth, tenant check, one indexed query),
 * - an instance create on a small fleet and on a large one (placement transaction: group-free
 *   claim of quota and host, instance, operation and outbox rows),
 * as throughput and latency percentiles, and each create as a ratio of the baseline. Targets are
 * stated as ratios so they survive a change of machine: a create should stay within 10x a read,
 * and a 50x larger fleet should cost less than 2x per create.
 *
 * Run: pnpm bench (needs the Postgres and Redis the tests use).
 */
import { performance } from "node:perf_hooks";
import { flavors, hosts, quotas, zones } from "@igoudar/db";
import { dropTemplateDatabase, prepareTemplateDatabase } from "@igoudar/db/testing";
import { TestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

interface Result {
	name: string;
	perSecond: number;
	p50: number;
	p95: number;
}

async function measure(name: string, run: (i: number) => Promise<number>): Promise<Result> {
	const latencies: number[] = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			for (let i = next++; i < REQUESTS; i = next++) {
				const t0 = performance.now();
				const status = await run(i);
				if (status >= 300) throw new Error(`${name}: request ${i} answered ${status}`);
				latencies.push(performance.now() - t0);
			}
		}),
	);
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
	return { name, perSecond: REQUESTS / seconds, p50: at(0.5), p95: at(0.95) };
}

async function fleet(
	t: TestPlatform,
	jurisdiction: string,
	size: number,
): Promise<{ tenantId: string; flavor: string }> {
	const [zone] = await t.db
		.insert(zones)
		.values({ name: `bench-${jurisdiction.toLowerCase()}`, jurisdiction })
		.returning();
	if (!zone) throw new Error("no zone");
	await t.db.insert(hosts).values(
		Array.from({ length: size }, (_, i) => ({
			name: `bench-${jurisdiction.toLowerCase()}-${i}`,
			zoneId: zone.id,
			vcpus: 128,
			memoryMib: 1_048_576,
			diskGib: 100_000,
		})),
	);
	const [flavor] = await t.db
		.insert(flavors)
		.values({ name: `bench-${jurisdiction.toLowerCase()}`, vcpus: 1, memoryMib: 512, diskGib: 10 })
		.returning();
	const tenant = await t.createTenant({ data_residency: [jurisdiction] });
	await t.db.update(quotas).set({ limit: 1_000_000 }).where(eq(quotas.tenantId, tenant.id));
	return { tenantId: tenant.id, flavor: flavor?.name ?? "" };
}

const template = await prepareTemplateDatabase();
const t = await TestPlatform.start({ env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "1000000" } });
try {
	const token = await t.operatorToken();
	const small = await fleet(t, "XS", 4);
	const large = await fleet(t, "XL", 200);
	const results = [
		await measure(
			"read quotas (baseline)",
			async () => (await t.request("GET", `/v1/tenants/${small.tenantId}/quotas`, { token })).status,
		),
		await measure(
			"create instance, 4 hosts",
			async (i) =>
				(
					await t.request("POST", `/v1/tenants/${small.tenantId}/instances`, {
						token,
						body: { name: `s-${i}`, flavor: small.flavor },
					})
				).status,
		),
		await measure(
			"create instance, 200 hosts",
			async (i) =>
				(
					await t.request("POST", `/v1/tenants/${large.tenantId}/instances`, {
						token,
						body: { name: `l-${i}`, flavor: large.flavor },
					})
				).status,
		),
	];
	const baseline = results[0];
	console.log(`${REQUESTS} requests each, ${CONCURRENCY} at a time`);
	for (const r of results) {
		const ratio = baseline ? baseline.perSecond / r.perSecond : 1;
		console.log(
			`${r.name.padEnd(28)} ${r.perSecond.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(1).padStart(6)} ms  p95 ${r.p95.toFixed(1).padStart(6)} ms  cost x${ratio.toFixed(2)} of baseline`,
		);
	}
	const [, smallFleet, largeFleet] = results;
	if (smallFleet && largeFleet) {
		console.log(
			`fleet scaling: 200 hosts cost x${(smallFleet.perSecond / largeFleet.perSecond).toFixed(2)} of 4 hosts per create`,
		);
	}
} finally {
	await t.close();
	await dropTemplateDatabase(template);
}
