/**
 * Resident memory of the compiled `igoudar-server --target=all`, as `pnpm start` users run it on
 * one machine: with no Redis answering at its address, so it starts its private redis-server,
 * which is counted too (the sum of VmRSS over the whole process tree). Read once it has idled,
 * then at its peak under a burst of creates (1,000 at 500/s; 300 with --quick).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../test/support/redis-server";
import { BURST_ENV, runBurst } from "./burst";
import { type Benchmark, figure, startPlatform } from "./harness";
import { treeRssMib } from "./provisioning-support";

const IDLE_SECONDS = 20;

export const benchmark: Benchmark = async ({ quick }) => {
	const port = await freePort();
	const platform = await startPlatform({
		target: "all",
		env: {
			...BURST_ENV,
			REDIS_URL: `redis://127.0.0.1:${port}`,
			IGOUDAR_STATE_DIR: mkdtempSync(join(tmpdir(), "igoudar-bench-memory-")),
		},
	});
	try {
		const pid = platform.processes[0]?.child.pid ?? 0;
		// Settled: start-up garbage collected, the first background passes (metrics, audit) done.
		await new Promise((resolve) => setTimeout(resolve, (quick ? 5 : IDLE_SECONDS) * 1000));
		const idle = treeRssMib(pid);
		const count = quick ? 300 : 1_000;
		const burst = await runBurst(platform, count, 500);
		return [
			figure({
				benchmark: "memory",
				metric: "idle RSS of --target=all (process tree, private redis-server included)",
				ours: idle,
				unit: "MiB",
				goal: { oursAtMost: 250 },
				note: `after ${quick ? 5 : IDLE_SECONDS} s idle, compiled build`,
			}),
			figure({
				benchmark: "memory",
				metric: `peak RSS under a burst of ${count} creates at 500/s`,
				ours: burst.peakRssMib,
				unit: "MiB",
				note: `${burst.accepted} of ${count} accepted`,
			}),
		];
	} finally {
		await platform.close();
	}
};
