/**
 * Creates per second accepted by one api process, then by two side by side, on one Postgres and
 * one Redis, with a worker carrying the creates out meanwhile (split targets: `tenants` issues the
 * tokens, `compute` takes the creates, `worker` provisions). Closed loop, 32 requests in flight
 * over ten tenants. On a machine of two cores the second process mostly competes for the same
 * CPU; what it shows is that replicas add up rather than fight over locks.
 */

import { BURST_ENV } from "./burst";
import { type Benchmark, type BenchTenant, createFleet, createTenant, figure, startPlatform } from "./harness";
import { sendCreates } from "./provisioning-support";

const CONCURRENCY = 32;

export const benchmark: Benchmark = async ({ quick }) => {
	const count = quick ? 300 : 1_500;
	const platform = await startPlatform({ target: "tenants", env: BURST_ENV });
	try {
		const first = await platform.startProcess("compute");
		const second = await platform.startProcess("compute");
		await platform.startProcess("worker");
		// Inventory goes through a compute process: `tenants` does not mount those routes.
		const fleet = await createFleet({ ...platform, url: first.url }, { hosts: 40 });
		const tenants: BenchTenant[] = [];
		for (let i = 0; i < 10; i++) tenants.push(await createTenant(platform));

		const rate = async (urls: string[]) => {
			// Warm both the JIT and the pools of every process measured.
			await sendCreates(urls, tenants, fleet, quick ? 60 : 200, CONCURRENCY);
			const started = performance.now();
			const outcomes = await sendCreates(urls, tenants, fleet, count, CONCURRENCY);
			const seconds = (performance.now() - started) / 1000;
			const accepted = outcomes.filter((outcome) => outcome.status === 202).length;
			if (accepted < count) throw new Error(`${count - accepted} of ${count} creates refused`);
			return accepted / seconds;
		};
		const one = await rate([first.url]);
		const two = await rate([first.url, second.url]);
		return [
			figure({
				benchmark: "api-replicas",
				metric: `creates/s with 2 api processes (and a worker), ${CONCURRENCY} in flight`,
				ours: two,
				unit: "creates/s",
				baseline: one,
				baselineName: "creates/s with 1 api process",
				note: `${count} creates each; 2 cores shared by every process`,
			}),
		];
	} finally {
		await platform.close();
	}
};
