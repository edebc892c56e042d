import { defineConfig } from "vitest/config";

export default defineConfig({
	test: {
		globalSetup: ["./test/global-setup.ts"],
		testTimeout: 30_000,
		hookTimeout: 60_000,
		// Two cores: more workers only add contention on Postgres.
		maxWorkers: 3,
		projects: [
			{
				extends: true,
				test: { name: "packages", include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts"] },
			},
			{
				extends: true,
				test: { name: "services", include: ["services/*/src/**/*.test.ts", "services/*/test/**/*.test.ts"] },
			},
			{ extends: true, test: { name: "e2e", include: ["test/**/*.test.ts"] } },
		],
	},
});
