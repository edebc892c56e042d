import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

export interface InstalledSdk {
	/** The scratch project: a package.json, node_modules with the SDK from its tarball, nothing else. */
	dir: string;
	/** Runs an ESM script in the scratch project and resolves with what it printed. */
	runScript(source: string, env: NodeJS.ProcessEnv): Promise<string>;
	remove(): Promise<void>;
}

/**
 * Packs the SDK as it would be published (pnpm builds it in `prepack` and writes the
 * `publishConfig` exports into the packed manifest) and installs the tarball with plain npm into
 * an empty project, as a user of the package would, with no TypeScript and no workspace around.
 */
export async function packAndInstallSdk(): Promise<InstalledSdk> {
	const dir = await mkdtemp(join(tmpdir(), "igoudar-sdk-consumer-"));
	const packs = join(dir, "packs");
	await run("pnpm", ["--filter", "@igoudar/sdk", "pack", "--pack-destination", packs], { cwd: root });
	const tarball = (await readdir(packs)).find((name) => name.endsWith(".tgz"));
	if (!tarball) throw new Error(`pnpm pack wrote no tarball into ${packs}`);
	const project = join(dir, "project");
	await run("mkdir", ["-p", project]);
	await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
	await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", join(packs, tarball)], {
		cwd: project,
		env: { ...process.env, npm_config_loglevel: "error" },
	});
	return {
		dir: project,
		async runScript(source, env) {
			const file = join(project, `script-${Date.now()}.mjs`);
			await writeFile(file, source);
			const { stdout } = await run(process.execPath, [file], { cwd: project, env: { ...process.env, ...env } });
			return stdout;
		},
		remove: () => rm(dir, { recursive: true, force: true }),
	};
}
