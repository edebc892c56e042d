import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateUrl } from "@igoudar/db";
import pg from "pg";
import { freePort } from "./redis-server";

/**
 * A PostgreSQL cluster of the test's own, on a free loopback port, so a fault test can crash and
 * restart it without touching the server every other test file shares. Built with the machine's
 * own `initdb` and `pg_ctl` (the same major version CI installs); as root they run as `postgres`,
 * since PostgreSQL refuses to run as root.
 */

function binDir(): string {
	const fromConfig = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
	const candidates = [
		fromConfig.status === 0 ? fromConfig.stdout.trim() : "",
		...(existsSync("/usr/lib/postgresql")
			? readdirSync("/usr/lib/postgresql")
					.sort((a, b) => Number(b) - Number(a))
					.map((version) => `/usr/lib/postgresql/${version}/bin`)
			: []),
	];
	const found = candidates.find((dir) => dir && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")));
	if (!found) throw new Error("no initdb/pg_ctl found (install postgresql)");
	return found;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as `postgres` when this process is root. */
function pgTool(tool: string, args: string[]): void {
	const path = join(binDir(), tool);
	const [command, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", path, ...args]] : [path, args];
	execFileSync(command, argv, { stdio: "pipe", timeout: 60_000 });
}

export interface PrivatePostgres {
	/** URL of the `igoudar` database, migrated. */
	url: string;
	/** Immediate shutdown (as a crash: no checkpoint, every connection cut), then start again. */
	restart(downMs?: number): Promise<void>;
	/** Stops the cluster and removes its files. */
	destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
	const port = await freePort();
	const root = mkdtempSync(join(tmpdir(), "igoudar-pg-"));
	const data = join(root, "data");
	if (asRoot) {
		const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
		const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
		chownSync(root, uid, gid);
	}
	chmodSync(root, 0o700);
	pgTool("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
	const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`;
	const start = () => pgTool("pg_ctl", ["-D", data, "-o", options, "-l", join(root, "log"), "-w", "-t", "60", "start"]);
	const stop = () => pgTool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]);
	start();
	const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
	await admin.connect();
	await admin.query("create database igoudar");
	await admin.end();
	const url = `postgres://postgres@127.0.0.1:${port}/igoudar`;
	await migrateUrl(url);
	return {
		url,
		async restart(downMs = 0) {
			stop();
			if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
			start();
		},
		async destroy() {
			try {
				stop();
			} catch {
				// Already stopped.
			}
			rmSync(root, { recursive: true, force: true });
		},
	};
}
