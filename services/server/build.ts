import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

/**
 * Compiles the server for production: one ESM file per entry point under services/server/dist,
 * with every workspace package (@igoudar/*) bundled in and every other package left as an import
 * that Node resolves from services/server/node_modules at run time. So the server's own
 * package.json lists exactly what the compiled output needs, and a production install of that
 * one package is its whole runtime. Run by `pnpm build`, and by the test setup before any test
 * starts a server process.
 */

const serverDir = fileURLToPath(new URL(".", import.meta.url));
const repoRoot = join(serverDir, "../..");
export const distDir = join(serverDir, "dist");

/** Output name -> source. The server, and the migration runner the compose file starts once. */
const ENTRY_POINTS: Record<string, string> = {
	"igoudar-server": join(serverDir, "src/main.ts"),
	migrate: join(repoRoot, "packages/db/src/migrate-cli.ts"),
};

/**
 * Files the compiled code reads beside the repository, by a path relative to its own module
 * (`new URL("../../../migrations", import.meta.url)`). dist/ sits as deep below the repository
 * root as the sources' src/ folders do, so the same relative paths hold; checked here so that a
 * move of either fails the build rather than the first start.
 */
const FILES_READ_AT_RUN_TIME = ["migrations/meta/_journal.json", "openapi/igoudar.json"];

const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

/** `@scope/name/sub/path` -> `@scope/name`; `name/sub` -> `name`. */
function packageName(specifier: string): string {
	const parts = specifier.split("/");
	return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

function serverDependencies(): Set<string> {
	const manifest = JSON.parse(readFileSync(join(serverDir, "package.json"), "utf8")) as {
		dependencies?: Record<string, string>;
	};
	return new Set(Object.keys(manifest.dependencies ?? {}));
}

/** Leaves every package but ours external, and notes any the server's manifest does not list. */
function externalPackages(declared: Set<string>, undeclared: Map<string, string>): Plugin {
	return {
		name: "external-packages",
		setup(context) {
			context.onResolve({ filter: /^[^./]/ }, (args) => {
				if (builtins.has(args.path)) return { path: args.path, external: true };
				const name = packageName(args.path);
				if (name.startsWith("@igoudar/")) return undefined;
				if (!declared.has(name)) undeclared.set(name, relative(repoRoot, args.importer));
				return { path: args.path, external: true };
			});
		},
	};
}

/** Writes through a temporary file and a rename, so a server starting meanwhile never reads half a file. */
function writeAtomically(path: string, contents: Uint8Array): void {
	if (existsSync(path) && Buffer.from(readFileSync(path)).equals(Buffer.from(contents))) return;
	mkdirSync(dirname(path), { recursive: true });
	const temporary = `${path}.${process.pid}.tmp`;
	writeFileSync(temporary, contents);
	renameSync(temporary, path);
}

export interface BuildResult {
	/** The files written (or found already up to date). */
	outputs: string[];
	milliseconds: number;
}

export async function buildServer(): Promise<BuildResult> {
	const started = performance.now();
	for (const file of FILES_READ_AT_RUN_TIME) {
		if (!existsSync(join(repoRoot, file))) throw new Error(`the compiled server reads ${file}, which is missing`);
	}
	const undeclared = new Map<string, string>();
	const result = await build({
		entryPoints: ENTRY_POINTS,
		outdir: distDir,
		outExtension: { ".js": ".mjs" },
		bundle: true,
		platform: "node",
		format: "esm",
		target: "node20",
		// Readable stack traces without a source map: names kept, nothing minified.
		keepNames: true,
		sourcemap: "linked",
		sourcesContent: false,
		legalComments: "none",
		logLevel: "warning",
		write: false,
		plugins: [externalPackages(serverDependencies(), undeclared)],
	});
	if (undeclared.size > 0) {
		const list = [...undeclared].map(([name, importer]) => `${name} (imported by ${importer})`).join(", ");
		throw new Error(
			`the compiled server imports packages services/server/package.json does not list as dependencies: ${list}. Add each with the version its workspace package uses.`,
		);
	}
	for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
	return { outputs: result.outputFiles.map((file) => file.path), milliseconds: performance.now() - started };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
	const { outputs, milliseconds } = await buildServer();
	for (const output of outputs) console.log(relative(repoRoot, output));
	console.log(`built in ${Math.round(milliseconds)} ms`);
}
