import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function composeCommand(): string[] | undefined {
	if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) return ["docker", "compose"];
	if (spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0) return ["docker-compose"];
	return undefined;
}

const compose = composeCommand();

/**
 * `config` with exactly these variables: an empty env file (a real one: compose wants a regular
 * file), so a developer's `.env` cannot supply
 * what the test means to leave out, and the environment stripped of every IGOUDAR_ setting.
 */
function composeConfig(variables: Record<string, string>) {
	const [bin, ...args] = compose ?? [];
	const env: NodeJS.ProcessEnv = {};
	for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("IGOUDAR_")) env[name] = value;
	return spawnSync(bin ?? "docker", [...args, "--env-file", emptyEnvFile(), "config"], {
		cwd: root,
		encoding: "utf8",
		timeout: 60_000,
		env: { ...env, ...variables },
	});
}

let emptyFile: string | undefined;
function emptyEnvFile(): string {
	if (!emptyFile) {
		emptyFile = join(mkdtempSync(join(tmpdir(), "igoudar-compose-")), "empty.env");
		writeFileSync(emptyFile, "");
	}
	return emptyFile;
}

const SECRET = "0123456789abcdef0123456789abcdef-compose-test";

describe("docker-compose.yml", () => {
	it.skipIf(!compose)("passes `docker compose config`", () => {
		const result = composeConfig({ IGOUDAR_KEY_ENCRYPTION_SECRET: SECRET });
		expect(result.stderr).not.toMatch(/error/i);
		expect(result.status).toBe(0);
		const out = result.stdout;
		for (const service of [
			"postgres",
			"redis",
			"migrate",
			"tenants",
			"compute",
			"storage",
			"billing",
			"energy",
			"worker",
			"gateway",
		]) {
			expect(out).toContain(`  ${service}:`);
		}
		expect(out).toContain("noeviction");
		expect(out).toContain(SECRET);
	});

	it.skipIf(!compose)("refuses to start without IGOUDAR_KEY_ENCRYPTION_SECRET, saying so", () => {
		const unset: Record<string, string>[] = [{}, { IGOUDAR_KEY_ENCRYPTION_SECRET: "" }];
		for (const variables of unset) {
			const result = composeConfig(variables);
			expect(result.status).not.toBe(0);
			expect(result.stdout).toBe("");
			expect(result.stderr).toContain("set IGOUDAR_KEY_ENCRYPTION_SECRET");
		}
	});

	it("makes the secret mandatory, and trusts X-Forwarded-For from the gateway's fixed address only", () => {
		const file = readFileSync(`${root}/docker-compose.yml`, "utf8");
		// `:?` fails on unset and on empty alike; `:-` would start with sealing quietly off.
		expect(file).toMatch(/IGOUDAR_KEY_ENCRYPTION_SECRET: \$\{IGOUDAR_KEY_ENCRYPTION_SECRET:\?[^}]+\}/);
		expect(file).not.toContain("IGOUDAR_TRUST_PROXY:");
		const trusted = /IGOUDAR_TRUSTED_PROXIES: (\S+)/.exec(file)?.[1];
		const gateway = /ipv4_address: (\S+)/.exec(file)?.[1];
		expect(trusted).toBeDefined();
		expect(trusted).toBe(gateway);
	});

	it("has the gateway overwrite X-Forwarded-For and keep /metrics to itself", () => {
		const gateway = readFileSync(`${root}/deploy/gateway.conf`, "utf8");
		expect(gateway).toContain("proxy_set_header X-Forwarded-For $remote_addr;");
		expect(gateway).not.toContain("$proxy_add_x_forwarded_for");
		expect(gateway).toMatch(/location ~ \^\/metrics\(\/\|\$\) \{ return 404; \}/);
	});

	it("routes every API prefix the server mounts to a service in the gateway", () => {
		const gateway = readFileSync(`${root}/deploy/gateway.conf`, "utf8");
		expect(gateway).toMatch(/location \/v1\/ \{ proxy_pass http:\/\/tenants; \}/);
		expect(gateway).toContain("instances|placement-groups|operations");
		expect(gateway).toContain("volumes|snapshots");
		expect(gateway).toContain("storage-pools");
		expect(gateway).toContain("invoice-runs");
		expect(gateway).toMatch(
			/location ~ \^\/v1\/tenants\/\[\^\/\]\+\/energy\(\/\|\$\) \{ proxy_pass http:\/\/energy; \}/,
		);
		expect(gateway).toMatch(/location ~ \^\/v1\/\(sites\|methodology\)\(\/\|\$\) \{ proxy_pass http:\/\/energy; \}/);
	});
});
