import type { Benchmark } from "./harness";

/**
 * Every benchmark `pnpm bench` runs, in order. Loaded lazily so `--only` starts just the one asked
 * for. A module exports `benchmark: Benchmark`.
 */
export const BENCHMARKS: { name: string; load: () => Promise<Benchmark> }[] = [
	{ name: "read-path", load: async () => (await import("./read-path")).benchmark },
];
