import { execFileSync } from "node:child_process";
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

	it("the spec passes redocly lint with no errors", () => {
		// Throws (non-zero exit) on any error; warnings are allowed.
		execFileSync(bin("redocly"), ["lint", join(root, "openapi/igoudar.json")], { stdio: "pipe", timeout: 120_000 });
	});

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
