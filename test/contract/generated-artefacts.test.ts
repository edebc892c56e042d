import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateOpenApi } from "@igoudar/server";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "igoudar-drift-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function bin(name: string): string {
	return join(root, "node_modules", ".bin", name);
}

// Each check names the command that brings the committed artefact back in line.
describe("committed generated artefacts match the code", () => {
	it("openapi/igoudar.json is the spec the routes generate (fix: pnpm openapi)", async () => {
		const committed = readFileSync(join(root, "openapi/igoudar.json"), "utf8");
		expect(await generateOpenApi()).toBe(committed);
	});

	it("the SDK's types are generated from the committed spec (fix: pnpm openapi)", () => {
		const out = join(scratch, "schema.ts");
		execFileSync(bin("openapi-typescript"), [join(root, "openapi/igoudar.json"), "-o", out], {
			stdio: "pipe",
			timeout: 120_000,
		});
		const committed = readFileSync(join(root, "packages/sdk/src/generated/schema.ts"), "utf8");
		expect(readFileSync(out, "utf8")).toBe(committed);
	});

	it("the spec passes redocly lint (redocly.yaml: recommended-strict and more) with no error and no warning", () => {
		// redocly exits non-zero on errors only; warnings are read from its JSON report.
		const run = spawnSync(
			bin("redocly"),
			["lint", "--config", join(root, "redocly.yaml"), "--format=json", join(root, "openapi/igoudar.json")],
			{ encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
		);
		const report = JSON.parse(run.stdout) as {
			problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[];
		};
		const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
		expect(problems).toEqual([]);
	}, 150_000);

	it("drizzle-kit would generate no new migration (fix: pnpm db:generate)", () => {
		const migrations = join(scratch, "migrations");
		cpSync(join(root, "migrations"), migrations, { recursive: true });
		const before = readdirSync(migrations).filter((f) => f.endsWith(".sql"));
		execFileSync(
			bin("drizzle-kit"),
			[
				"generate",
				"--dialect",
				"postgresql",
				"--schema",
				join(root, "packages/db/src/schema/index.ts"),
				"--out",
				migrations,
			],
			{ cwd: root, stdio: "pipe", timeout: 120_000 },
		);
		const after = readdirSync(migrations).filter((f) => f.endsWith(".sql"));
		expect(after).toEqual(before);
	});
});
