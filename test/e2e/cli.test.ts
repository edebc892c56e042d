import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leafCommands } from "../../packages/cli/src/index";
import { type CliResult, runCli, underTerminal } from "../support/cli-process";
import { type InstalledPackages, packAndInstall } from "../support/sdk-package";
import {
	moveUsageToLastMonth,
	previousMonth,
	STORY_OPERATOR,
	type StoryPlatform,
	startStoryPlatform,
} from "../support/story-platform";

/**
 * The tenant story once more, through the `igoudar` command: packed with the SDK, installed
 * with npm into an empty project, and run as a real process per command with a HOME of its own,
 * against the real server. Every command of the CLI's table runs at least once (the last test
 * checks), and the exit codes, error output, config file, progress and completion are checked
 * as a script or a person would meet them.
 */

const MISSING = "00000000-0000-4000-8000-000000000000";
const has = (bin: string) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0;

let platform: StoryPlatform;
let installed: InstalledPackages;
let home: string;
const ran = new Set<string>();
const leaves = leafCommands();
const ids: Record<string, string> = {};

/** The command path a command line runs, as `leafCommands` names it. */
function commandOf(args: readonly string[]): string | undefined {
	const words = args.filter((arg) => !arg.startsWith("-"));
	for (let n = Math.min(2, words.length); n > 0; n--) {
		const path = words.slice(0, n).join(" ");
		if (leaves.includes(path)) return path;
	}
	return undefined;
}

async function igoudar(
	args: string[],
	options: { env?: NodeJS.ProcessEnv; input?: string; terminal?: boolean } = {},
): Promise<CliResult> {
	const command = commandOf(args);
	if (command) ran.add(command);
	return runCli(
		installed.bin("igoudar"),
		args,
		{ HOME: home, ...options.env },
		options.input,
		options.terminal ? underTerminal : undefined,
	);
}

/** A command that must succeed; its stdout parsed as JSON. */
async function json<T = Record<string, unknown>>(args: string[], env?: NodeJS.ProcessEnv): Promise<T> {
	const result = await igoudar([...args, "-o", "json"], { env });
	expect(result, `igoudar ${args.join(" ")}`).toMatchObject({ code: 0 });
	return JSON.parse(result.stdout) as T;
}

/** A command that must succeed; its table output. */
async function ok(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
	const result = await igoudar(args, { env });
	expect(result, `igoudar ${args.join(" ")}`).toMatchObject({ code: 0 });
	return result.stdout;
}

const ops = (...args: string[]) => [...args, "--profile", "ops"];

beforeAll(async () => {
	home = await mkdtemp(join(tmpdir(), "igoudar-cli-home-"));
	const packing = packAndInstall(["@igoudar/sdk", "@igoudar/cli"]);
	packing.catch(() => undefined);
	platform = await startStoryPlatform("all");
	installed = await packing;
	// Packing waits its turn behind other test files' packs and builds the SDK: minutes on a loaded machine.
}, 420_000);

afterAll(async () => {
	await platform?.stop();
	await installed?.remove();
	if (home) await rm(home, { recursive: true, force: true });
});

describe("the igoudar command, installed from its tarball, against a real server", () => {
	it("logs in to profiles kept in a 0600 file, under XDG_CONFIG_HOME when set, with IGOUDAR_* overrides", async () => {
		const before = await igoudar(["zones", "list"]);
		expect(before.code).toBe(2);
		expect(before.stderr).toContain("not logged in");

		const bad = await igoudar(
			["login", "--url", platform.url, "--client-id", STORY_OPERATOR.clientId, "--client-secret", "igs_wrong"],
			{},
		);
		expect(bad.code).toBe(1);
		expect(bad.stderr).toMatch(/401/);

		const login = await json([
			"login",
			"--profile",
			"ops",
			"--url",
			platform.url,
			"--client-id",
			STORY_OPERATOR.clientId,
			"--client-secret",
			STORY_OPERATOR.clientSecret,
		]);
		expect(login).toMatchObject({ profile: "ops", default: true, role: "operator" });
		const file = join(home, ".config", "igoudar", "config.toml");
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		const toml = await readFile(file, "utf8");
		expect(toml).toMatch(/^default_profile = "ops"$/m);
		expect(toml).toMatch(/^\[profiles\.ops\]$/m);
		expect(toml).toContain(`client_secret = "${STORY_OPERATOR.clientSecret}"`);
		expect(await json(["whoami"])).toMatchObject({ profile: "ops", role: "operator", tenant: null });

		// XDG_CONFIG_HOME moves the file; the one under HOME is untouched.
		const xdg = await mkdtemp(join(tmpdir(), "igoudar-cli-xdg-"));
		await json(["login", "--url", platform.url], {
			XDG_CONFIG_HOME: xdg,
			IGOUDAR_CLIENT_ID: STORY_OPERATOR.clientId,
			IGOUDAR_CLIENT_SECRET: STORY_OPERATOR.clientSecret,
		});
		expect((await stat(join(xdg, "igoudar", "config.toml"))).mode & 0o777).toBe(0o600);
		expect(await json(["profiles", "list"], { XDG_CONFIG_HOME: xdg })).toEqual([
			expect.objectContaining({ name: "default", default: "*" }),
		]);
		await rm(xdg, { recursive: true, force: true });

		// No file at all: the environment alone is enough, and wins over a profile.
		const bare = await mkdtemp(join(tmpdir(), "igoudar-cli-bare-"));
		const fromEnv = await json(["whoami"], {
			HOME: bare,
			IGOUDAR_URL: platform.url,
			IGOUDAR_CLIENT_ID: STORY_OPERATOR.clientId,
			IGOUDAR_CLIENT_SECRET: STORY_OPERATOR.clientSecret,
			IGOUDAR_TENANT: MISSING,
		});
		expect(fromEnv).toMatchObject({ role: "operator", tenant: MISSING, url: platform.url });
		await rm(bare, { recursive: true, force: true });
		const missing = await igoudar(["whoami"], { env: { IGOUDAR_PROFILE: "nope" } });
		expect(missing.code).toBe(2);
		expect(missing.stderr).toContain('no profile "nope"');
	}, 120_000);

	it("operator sets up zones, hosts, pools, flavors, a price plan, defaults and a tenant", async () => {
		ids.zone = (await json<{ id: string }>(ops("zones", "create", "--name", "dakhla-1", "--jurisdiction", "MA"))).id;
		// A second zone, left empty, for the operator to delete at the end (dakhla-1 keeps its site).
		ids.spareZone = (
			await json<{ id: string }>(ops("zones", "create", "--name", "dakhla-2", "--jurisdiction", "MA"))
		).id;
		expect((await json<{ name: string }[]>(ops("zones", "list"))).map((z) => z.name).sort()).toEqual([
			"dakhla-1",
			"dakhla-2",
		]);
		// Commands share a token through an owner-only cache; a token the server refuses is replaced.
		const cache = join(home, ".cache", "igoudar", "tokens.json");
		expect((await stat(cache)).mode & 0o777).toBe(0o600);
		const entries = JSON.parse(await readFile(cache, "utf8")) as Record<string, { token: string }>;
		for (const entry of Object.values(entries)) entry.token = "not-a-token";
		await writeFile(cache, JSON.stringify(entries));
		expect((await json<unknown[]>(ops("zones", "list"))).length).toBe(2);
		expect(await readFile(cache, "utf8")).not.toContain("not-a-token");
		expect(await ok(ops("zones", "get", ids.zone))).toMatch(/^jurisdiction\s+MA$/m);

		const incomplete = await igoudar(
			ops("hosts", "create", "--name", "hv-001", "--zone", "dakhla-1", "--vcpus", "16", "--memory-mib", "65536"),
		);
		expect(incomplete.code).toBe(2);
		expect(incomplete.stderr).toContain("--disk-gib");
		ids.host = (
			await json<{ id: string }>(
				ops(
					...["hosts", "create", "--name", "hv-001", "--zone", "dakhla-1", "--vcpus", "16", "--memory-mib", "65536"],
					...["--disk-gib", "1000", "--power-idle-w", "90", "--power-max-w", "350"],
				),
			)
		).id;
		const hosts = await ok(ops("hosts", "list", "--zone", "dakhla-1"));
		expect(hosts.split("\n")[0]).toMatch(/^ID\s+NAME\s+ZONE\s+STATUS/);
		expect(hosts).toMatch(/hv-001\s+dakhla-1\s+enabled/);
		expect(await ok(ops("hosts", "get", ids.host, "-o", "yaml"))).toMatch(/^name: hv-001$/m);
		expect(await json(ops("hosts", "update", ids.host, "--power-max-w", "400"))).toMatchObject({ power_max_w: 400 });

		// Energy: a metered site feeding the zone, an ended hour's readings, the balance, the methodology.
		const site = await json<{ id: string }>(ops("sites", "create", "--name", "dakhla", "--zone", "dakhla-1"));
		expect(await ok(ops("sites", "list"))).toMatch(/dakhla\s+dakhla-1/);
		expect(await json(ops("sites", "get", site.id))).toMatchObject({ zones: ["dakhla-1"] });
		const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000).toISOString();
		const readings = join(home, "readings.json");
		await writeFile(
			readings,
			JSON.stringify({
				items: [
					{
						hour,
						site_wh: 520,
						hosts: [{ host: "hv-001", wh: 455 }],
						supply_wh: { wind: 400, solar: 90, battery: 0, grid: 30, diesel: 0 },
						grid_gco2e_per_kwh: 610,
					},
				],
			}),
		);
		expect(await json(ops("sites", "readings", site.id, "--file", readings))).toMatchObject({
			items: expect.any(Array),
		});
		expect(await json(ops("sites", "balance", site.id))).toMatchObject({ site_id: site.id, items: expect.any(Array) });
		expect((await json<{ items: unknown[] }>(ops("methodology", "list"))).items.length).toBeGreaterThan(0);

		ids.flavor = (
			await json<{ id: string }>(
				ops("flavors", "create", "--name", "c2-m4", "--vcpus", "2", "--memory-mib", "4096", "--disk-gib", "40"),
			)
		).id;
		expect(await ok(ops("flavors", "list"))).toMatch(/c2-m4\s+2\s+4096\s+40/);
		expect(await json(ops("flavors", "get", ids.flavor))).toMatchObject({ name: "c2-m4" });

		ids.pool = (
			await json<{ id: string }>(
				ops(
					...["storage-pools", "create", "--name", "dakhla-1-ssd", "--zone", "dakhla-1"],
					...["--storage-class", "ssd", "--capacity-gib", "1000", "--driver", "simulated"],
				),
			)
		).id;
		expect(await ok(ops("storage-pools", "list", "--zone", "dakhla-1"))).toContain("dakhla-1-ssd");
		expect(await json(ops("storage-pools", "get", ids.pool))).toMatchObject({ capacity_gib: 1000 });
		expect(await json(ops("storage-pools", "update", ids.pool, "--capacity-gib", "2000"))).toMatchObject({
			capacity_gib: 2000,
		});

		const plan = await json<{ id: string }>(
			ops(
				...["price-plans", "create", "--name", "standard", "--currency", "MAD", "--tax-rate", "0.2"],
				...["--vcpu-hour", "0.02", "--memory-gib-hour", "0.003", "--volume-gib-month", "0.4"],
				"--snapshot-gib-month",
				"0.1",
			),
		);
		ids.plan = plan.id;
		expect(await ok(ops("price-plans", "list"))).toContain("standard");
		expect(await json(ops("price-plans", "get", ids.plan))).toMatchObject({ name: "standard", currency: "MAD" });
		const versioned = await json<{ versions: unknown[] }>(
			ops(
				...["price-plans", "add-version", ids.plan, "--effective-at", "2099-01-01T00:00:00Z", "--vcpu-hour", "0.018"],
				...["--memory-gib-hour", "0.003", "--volume-gib-month", "0.4", "--snapshot-gib-month", "0.1"],
			),
		);
		expect(versioned.versions).toHaveLength(2);

		expect(await json(ops("quota-defaults", "get"))).toMatchObject({ items: expect.any(Array) });
		expect(await ok(ops("quota-defaults", "set", "--snapshots", "50"))).toMatch(/^snapshots\s+50$/m);
		expect(await json(ops("placement-settings", "get"))).toMatchObject({ strategy: expect.any(String) });
		expect(await json(ops("placement-settings", "set", "--strategy", "pack"))).toEqual({ strategy: "pack" });

		ids.tenant = (await json<{ id: string }>(ops("tenants", "create", "--name", "acme", "--data-residency", "MA"))).id;
		expect(await ok(ops("tenants", "list"))).toMatch(/acme\s+active\s+MA/);
		expect(await json(ops("tenants", "update", ids.tenant, "--price-plan", ids.plan))).toMatchObject({
			price_plan_id: ids.plan,
		});
		expect(await json(ops("tenants", "get", ids.tenant))).toMatchObject({ name: "acme", data_residency: ["MA"] });
		expect(await ok(ops("quotas", "set", "--tenant", ids.tenant, "--instances", "5", "--vcpus", "10"))).toMatch(
			/^instances\s+5\s+0$/m,
		);
		expect(await ok(ops("quotas", "list", "--tenant", ids.tenant))).toMatch(/^RESOURCE\s+LIMIT\s+USED$/m);
		const deployer = await json<{ client_id: string; client_secret: string }>(
			ops("service-accounts", "create", "--tenant", ids.tenant, "--name", "deployer", "--role", "admin"),
		);
		ids.clientId = deployer.client_id;
		ids.clientSecret = deployer.client_secret;
		ids.spare = (
			await json<{ id: string }>(
				ops("service-accounts", "create", "--tenant", ids.tenant, "--name", "reader", "--role", "viewer"),
			)
		).id;
		expect(await ok(ops("service-accounts", "list", "--tenant", ids.tenant))).toMatch(/deployer\s+admin/);
	}, 300_000);

	it("the tenant logs in with its secret on stdin, provisions, attaches, snapshots, stops and tears down", async () => {
		const login = await igoudar(
			["login", "--profile", "acme", "--url", platform.url, "--client-id", ids.clientId ?? "", "--client-secret-stdin"],
			{ input: ids.clientSecret },
		);
		expect(login.code).toBe(0);
		expect(login.stdout).toMatch(new RegExp(`^tenant\\s+${ids.tenant}$`, "m"));
		expect(await ok(["profiles", "use", "acme"])).toContain("acme");
		expect(await json(["whoami"])).toMatchObject({ profile: "acme", role: "admin", tenant: ids.tenant });
		expect(await json(["profiles", "list"])).toEqual([
			expect.objectContaining({ name: "ops", default: "" }),
			expect.objectContaining({ name: "acme", default: "*", tenant: ids.tenant }),
		]);

		const group = await json<{ id: string }>([
			"placement-groups",
			"create",
			"--name",
			"web",
			"--policy",
			"anti-affinity",
		]);
		expect(await ok(["placement-groups", "list"])).toMatch(/web\s+anti-affinity/);
		expect(await json(["placement-groups", "get", group.id])).toMatchObject({ name: "web" });

		// Not a terminal: --wait waits without a word on stderr.
		const created = await igoudar([
			...["instances", "create", "--name", "web-1", "--flavor", "c2-m4", "--zone", "dakhla-1"],
			...["--placement-group", group.id, "--label", "app=web", "--label", "tier=front", "--wait", "-o", "json"],
		]);
		expect(created).toMatchObject({ code: 0, stderr: "" });
		const { instance } = JSON.parse(created.stdout) as { instance: { id: string; status: string; labels: object } };
		expect(instance).toMatchObject({ status: "running", labels: { app: "web", tier: "front" } });
		expect(await ok(["instances", "list"])).toMatch(/web-1\s+running\s+c2-m4\s+dakhla-1/);
		expect(await json<unknown[]>(["instances", "list", "--status", "stopped"])).toEqual([]);
		expect(await ok(["instances", "get", instance.id])).toMatch(/^labels\s+app=web,tier=front$/m);

		const { volume } = await json<{ volume: { id: string } }>([
			...["volumes", "create", "--name", "data-1", "--size-gib", "10", "--wait"],
		]);
		const attached = await json<{ operation: { status: string } }>([
			...["volumes", "attach", volume.id, "--instance", instance.id, "--wait"],
		]);
		expect(attached.operation.status).toBe("succeeded");
		expect(await json(["instances", "get", instance.id])).toMatchObject({ volume_ids: [volume.id] });
		expect(await json<unknown[]>(["volumes", "list", "--instance", instance.id])).toHaveLength(1);
		await ok(["volumes", "resize", volume.id, "--size-gib", "20", "--wait"]);
		expect(await json(["volumes", "get", volume.id])).toMatchObject({ size_gib: 20, status: "in_use" });
		const { snapshot } = await json<{ snapshot: { id: string } }>([
			...["snapshots", "create", volume.id, "--name", "before-upgrade", "--wait"],
		]);
		expect(await ok(["snapshots", "list", "--volume", volume.id])).toContain("before-upgrade");
		expect(await json(["snapshots", "get", snapshot.id])).toMatchObject({ status: "available", size_gib: 20 });

		await ok(["instances", "stop", instance.id, "--wait"]);
		expect(await json(["instances", "get", instance.id])).toMatchObject({ status: "stopped" });
		await ok(["instances", "start", instance.id, "--wait"]);
		const rebooted = await ok(["instances", "reboot", instance.id, "--wait"]);
		expect(rebooted).toMatch(/^operation\.status\s+succeeded$/m);
		await ok(["volumes", "detach", volume.id, "--wait"]);

		const operations = await json<{ id: string; kind: string }[]>(["operations", "list", "--target", instance.id]);
		expect(operations.map((op) => op.kind)).toEqual(
			expect.arrayContaining(["instance.create", "instance.stop", "instance.start", "instance.reboot"]),
		);
		const [latest] = operations;
		expect(await json(["operations", "get", latest?.id ?? ""])).toMatchObject({ status: "succeeded" });
		expect(await ok(["operations", "wait", latest?.id ?? ""])).toMatch(/^status\s+succeeded$/m);

		const usage = await json<{ items: { meter: string }[] }>(["usage", "get"]);
		expect(usage.items.map((item) => item.meter)).toEqual(expect.arrayContaining(["vcpu_hours", "volume_gib_months"]));
		expect(await ok(["usage", "get", "--by-resource"])).toMatch(/^vcpu_hours\s+\S+\s+vCPU-hour$/m);
		expect(await json<unknown[]>(["audit-events", "list", "--limit", "3"])).toHaveLength(3);
		expect(await json(["price-plans", "effective"])).toMatchObject({ plan: { id: ids.plan } });
		expect(await json(["energy", "get", "--granularity", "day"])).toMatchObject({
			granularity: "day",
			items: expect.any(Array),
		});

		await ok(["snapshots", "delete", snapshot.id, "--wait"]);
		await ok(["volumes", "delete", volume.id, "--wait"]);
		await ok(["instances", "delete", instance.id, "--wait"]);
		expect(await ok(["placement-groups", "delete", group.id])).toBe("done\n");
		expect(await ok(["quotas", "list"])).toMatch(/^instances\s+5\s+0$/m);
	}, 300_000);

	it("shows a wait's progress on a terminal", async () => {
		const result = await igoudar(["instances", "create", "--name", "tty-1", "--flavor", "c2-m4", "--wait"], {
			terminal: true,
		});
		expect(result.code).toBe(0);
		// script(1) merges the terminal's output: the progress line, then the table.
		expect(result.stdout).toMatch(/instance\.create: succeeded 100%/);
		const [tty] = await json<{ id: string }[]>(["instances", "list"]);
		await ok(["instances", "delete", tty?.id ?? "", "--wait"]);
	}, 120_000);

	it("the operator invoices last month; the tenant reads the invoice as a table and as CSV", async () => {
		await moveUsageToLastMonth(platform.databaseUrl, ids.tenant ?? "");
		const month = previousMonth();
		const { run, operation } = await json<{
			run: { id: string; invoices_made: number };
			operation: { status: string };
		}>(ops("invoices", "run", "--period-start", month.start, "--period-end", month.end, "--wait"));
		expect(operation.status).toBe("succeeded");
		expect(run.invoices_made).toBe(1);
		expect(await json(ops("invoice-runs", "get", run.id))).toMatchObject({ invoices_made: 1 });
		const all = await json<{ id: string; tenant_id: string }[]>(
			ops("invoices", "list", "--all-tenants", "--of-tenant", ids.tenant ?? ""),
		);
		expect(all.map((invoice) => invoice.tenant_id)).toEqual([ids.tenant]);

		const [invoice] = await json<{ id: string; status: string }[]>(["invoices", "list"]);
		expect(invoice?.status).toBe("draft");
		const shown = await ok(["invoices", "get", invoice?.id ?? ""]);
		expect(shown).toMatch(/^currency\s+MAD$/m);
		expect(shown).toMatch(/^usage\s+vcpu_hours\s+\S+\s+vCPU-hour/m);
		const csv = await ok(["invoices", "get", invoice?.id ?? "", "--csv"]);
		expect(csv).toContain("vcpu_hours");
		expect(csv.trim().split("\n").length).toBeGreaterThan(1);
		const finalized = await json<{ number: string }>(
			ops("invoices", "finalize", invoice?.id ?? "", "--tenant", ids.tenant ?? ""),
		);
		expect(finalized.number).toEqual(expect.any(String));
	}, 180_000);

	it("operators read the audit trail and run the consistency audit", async () => {
		expect(await json<unknown[]>(ops("audit-events", "list", "--all-tenants", "--limit", "5"))).toHaveLength(5);
		expect(await json(ops("consistency", "check"))).toMatchObject({ drifts: [] });
		expect(await json(ops("consistency", "repair"))).toMatchObject({ changes: [] });
	}, 60_000);

	it("answers errors with exit codes scripts can trust and the problem's request id on stderr", async () => {
		const notFound = await igoudar(["instances", "get", MISSING]);
		expect(notFound).toMatchObject({ code: 1, stdout: "" });
		expect(notFound.stderr).toMatch(/\(404 not_found\)/);
		expect(notFound.stderr).toMatch(/^request id: \S+$/m);
		const invalid = await igoudar(["instances", "create", "--name", "", "--flavor", "c2-m4"]);
		expect(invalid.code).toBe(1);
		expect(invalid.stderr).toMatch(/validation_failed/);
		expect(invalid.stderr).toMatch(/^ {2}- /m);

		for (const args of [
			ops("zones", "create", "--name", "x"),
			["instances", "frobnicate"],
			ops("flavors", "create", "--name", "f", "--vcpus", "two", "--memory-mib", "1", "--disk-gib", "1"),
			ops("quotas", "list"),
			["instances", "list", "-o", "xml"],
			ops("hosts", "update", ids.host ?? ""),
			["completion", "tcsh"],
		]) {
			const result = await igoudar(args);
			expect(result.code, `igoudar ${args.join(" ")}: ${result.stderr}`).toBe(2);
			expect(result.stderr).not.toBe("");
		}

		// A server that accepts and never answers: the command gives up at --timeout with 3.
		const silent: Server = createServer(() => undefined);
		await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
		const address = silent.address();
		const port = typeof address === "object" && address ? address.port : 0;
		const stuck = await igoudar(["zones", "list", "--timeout", "1"], {
			env: { IGOUDAR_URL: `http://127.0.0.1:${port}`, IGOUDAR_TOKEN: "t" },
		});
		silent.close();
		expect(stuck.code).toBe(3);
		expect(stuck.stderr).toContain("timed out");

		const help = await igoudar(["instances", "create", "--help"]);
		expect(help.code).toBe(0);
		expect(help.stdout).toContain("Examples:");
		expect(help.stdout).toContain("--wait");
		expect((await igoudar(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
	}, 180_000);

	it("prints completion scripts that complete commands, subcommands and flag values", async () => {
		const dir = await mkdtemp(join(tmpdir(), "igoudar-completion-"));
		try {
			const bash = join(dir, "igoudar.bash");
			await writeFile(bash, await ok(["completion", "bash"]));
			const complete = (words: string) =>
				spawnSync(
					"bash",
					[
						"-c",
						`source ${bash}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _igoudar; echo "\${COMPREPLY[*]}"`,
					],
					{ encoding: "utf8" },
				).stdout.trim();
			expect(complete("igoudar inst")).toBe("instances");
			expect(complete("igoudar --tenant x volumes at")).toBe("attach");
			expect(complete("igoudar instances list --status st").split(" ")).toEqual(["stopping", "stopped", "starting"]);
			expect(complete("igoudar --output y")).toBe("yaml");

			const zsh = await ok(["completion", "zsh"]);
			expect(zsh).toMatch(/^#compdef igoudar/);
			const fish = await ok(["completion", "fish"]);
			expect(fish).toContain("complete -c igoudar");
			// Their syntax is checked by the shells themselves where they are installed.
			for (const [shell, script] of [
				["zsh", zsh],
				["fish", fish],
			] as const) {
				if (!has(shell)) continue;
				const file = join(dir, `igoudar.${shell}`);
				await writeFile(file, script);
				expect(spawnSync(shell, ["-n", file], { encoding: "utf8" }).status).toBe(0);
			}
			if (has("fish")) {
				const fishFile = join(dir, "igoudar.fish");
				const words = spawnSync("fish", ["-c", `source ${fishFile}; complete -C "igoudar instances st"`], {
					encoding: "utf8",
				}).stdout;
				expect(words.split("\n")).toEqual(expect.arrayContaining(["start", "stop"]));
			}
		} finally {
			await rm(dir, { recursive: true, force: true });
		}
	}, 60_000);

	it("the operator removes what it set up, and a profile is forgotten", async () => {
		expect(await ok(ops("service-accounts", "delete", ids.spare ?? "", "--tenant", ids.tenant ?? ""))).toBe("done\n");
		await ok(ops("flavors", "delete", ids.flavor ?? ""));
		await ok(ops("storage-pools", "delete", ids.pool ?? ""));
		await ok(ops("hosts", "delete", ids.host ?? ""));
		await ok(ops("zones", "delete", ids.spareZone ?? ""));
		await ok(ops("tenants", "delete", ids.tenant ?? ""));
		expect(await ok(["profiles", "remove", "acme"])).toContain("acme");
		expect(await json(["whoami"])).toMatchObject({ profile: "ops" });
	}, 180_000);

	it("has run every command of the CLI against the server", () => {
		expect(leaves.filter((command) => !ran.has(command))).toEqual([]);
	});
});
