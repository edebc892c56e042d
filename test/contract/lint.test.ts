import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("style", () => {
	it("passes biome check (no default exports, import type, no any, formatting)", () => {
		// Throws with biome's report on any error.
		execFileSync(
			join(root, "node_modules", ".bin", "biome"),
			["check", "--error-on-warnings", "--max-diagnostics=50", "."],
			{
				cwd: root,
				stdio: "pipe",
				timeout: 120_000,
			},
		);
	}, 150_000);

	it("passes the TypeScript compiler in strict mode", () => {
		execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json", "--noEmit"], {
			cwd: root,
			stdio: "pipe",
			timeout: 150_000,
		});
	}, 180_000);
});
