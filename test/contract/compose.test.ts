import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

function composeCommand(): string[] | undefined {
	if (spawnSync("docker", ["compose", "version"], { stdio: "ignore" }).status === 0) return ["docker", "compose"];
	if (spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0) return ["docker-compose"];
	return undefined;
}

const compose = composeCommand();

describe("docker-compose.yml", () => {
	it.skipIf(!compose)("passes `docker compose config`", () => {
		const [bin, ...args] = compose ?? [];
		const out = execFileSync(bin ?? "docker", [...args, "config"], { cwd: root, encoding: "utf8", timeout: 60_000 });
		for (const service of ["postgres", "redis", "migrate", "tenants", "compute", "worker", "gateway"]) {
			expect(out).toContain(`  ${service}:`);
		}
		expect(out).toContain("noeviction");
	});

	it("routes every API prefix the server mounts to a service in the gateway", () => {
		const gateway = readFileSync(`${root}/deploy/gateway.conf`, "utf8");
		expect(gateway).toMatch(/location \/v1\/ \{ proxy_pass http:\/\/tenants; \}/);
		expect(gateway).toContain("instances|placement-groups|operations");
	});
});
