import type { Benchmark } from "./harness";

/**
 * Every benchmark `pnpm bench` runs, in order. Loaded lazily so `--only` starts just the one asked
 * for. A module exports `benchmark: Benchmark`.
 */
export const BENCHMARKS: { name: string; load: () => Promise<Benchmark> }[] = [
	{ name: "read-path", load: async () => (await import("./read-path")).benchmark },
	{ name: "write-path", load: async () => (await import("./write-path")).benchmark },
	{ name: "quota-overhead", load: async () => (await import("./quota-overhead")).benchmark },
	{ name: "placement", load: async () => (await import("./placement")).benchmark },
	{ name: "provisioning", load: async () => (await import("./provisioning")).benchmark },
	{ name: "burst", load: async () => (await import("./burst")).benchmark },
	{ name: "memory", load: async () => (await import("./memory")).benchmark },
	{ name: "api-replicas", load: async () => (await import("./api-replicas")).benchmark },
];
