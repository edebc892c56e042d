import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

export interface InstalledPackages {
	/** The scratch project: a package.json, node_modules with the packages from their tarballs, nothing else. */
	dir: string;
	/** Runs an ESM script in the scratch project and resolves with what it printed. */
	runScript(source: string, env: NodeJS.ProcessEnv): Promise<string>;
	/** The path of an installed package's bin, as npm linked it into node_modules/.bin. */
	bin(name: string): string;
	remove(): Promise<void>;
}

/** Kept for the SDK's own test. */
export type InstalledSdk = InstalledPackages;

/**
 * Packing builds into the packages' dist/ folders, which test files running in parallel share: a
 * lock directory (mkdir is atomic) lets one pack at a time, so none reads a file another rewrites.
 */
async function withPackLock<T>(work: () => Promise<T>): Promise<T> {
	const lock = join(tmpdir(), `igoudar-pack-${Buffer.from(root).toString("hex").slice(-16)}.lock`);
	for (;;) {
		try {
			await mkdir(lock);
			break;
		} catch {
			// A lock left by a killed run is stale after ten minutes (a pack takes seconds, a minute
			// or two on a loaded machine).
			const age = await stat(lock).then(
				(s) => Date.now() - s.mtimeMs,
				() => 0,
			);
			if (age > 600_000) await rm(lock, { recursive: true, force: true });
			await new Promise((resolve) => setTimeout(resolve, 200));
		}
	}
	try {
		return await work();
	} finally {
		await rm(lock, { recursive: true, force: true });
	}
}

/**
 * Packs workspace packages as they would be published (pnpm builds them in `prepack`, writes the
 * `publishConfig` exports into the packed manifests and turns `workspace:*` into versions) and
 * installs the tarballs together with plain npm into an empty project, as a user would, with no
 * TypeScript and no workspace around. A package depending on another of the list gets it from its
 * tarball, not from a registry.
 */
export async function packAndInstall(packages: readonly string[]): Promise<InstalledPackages> {
	const dir = await mkdtemp(join(tmpdir(), "igoudar-consumer-"));
	const packs = join(dir, "packs");
	const tarballs: string[] = [];
	await withPackLock(async () => {
		for (const name of packages) {
			const destination = join(packs, name.replace(/[@/]/g, "_"));
			await run("pnpm", ["--filter", name, "pack", "--pack-destination", destination], { cwd: root });
			const tarball = (await readdir(destination)).find((file) => file.endsWith(".tgz"));
			if (!tarball) throw new Error(`pnpm pack of ${name} wrote no tarball into ${destination}`);
			tarballs.push(join(destination, tarball));
		}
	});
	const project = join(dir, "project");
	await mkdir(project, { recursive: true });
	await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
	await run("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs], {
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
		bin: (name) => join(project, "node_modules", ".bin", name),
		remove: () => rm(dir, { recursive: true, force: true }),
	};
}

export function packAndInstallSdk(): Promise<InstalledSdk> {
	return packAndInstall(["@igoudar/sdk"]);
}
