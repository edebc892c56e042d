import { TokenSource } from "@igoudar/sdk";
import { type Command, Option } from "commander";
import type { GlobalOptions } from "./client.js";
import { configPath, readConfig, resolveSettings, writeConfig } from "./config.js";
import { UsageError } from "./exit-codes.js";
import { examplesText } from "./options.js";
import { render, table } from "./output.js";
import type { Runtime } from "./program.js";

/** The claims of our access tokens that say who the caller is. */
interface Claims {
	sub?: string;
	client_id?: string;
	role?: string;
	tenant_id?: string | null;
}

/** Reads a JWT's claims without verifying it: only to tell the user who they are, never to decide. */
function claimsOf(token: string): Claims {
	try {
		return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Claims;
	} catch {
		return {};
	}
}

async function readStdin(): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString("utf8").trim();
}

function print(runtime: Runtime, globals: GlobalOptions, result: unknown, columns: string[]): void {
	runtime.io.stdout.write(render(result, globals.output, { columns }));
}

/** `login`, `whoami` and `profiles`: the config file and who the command acts as. */
export function sessionCommands(program: Command, runtime: Runtime): void {
	const { env } = runtime;
	program
		.command("login")
		.description("Check client credentials and save them as a profile (the first one becomes the default)")
		.addOption(new Option("--url <url>", "the API's address (default: IGOUDAR_URL)"))
		.addOption(new Option("--client-id <id>", "service account client id (default: IGOUDAR_CLIENT_ID)"))
		.addOption(new Option("--client-secret <secret>", "its secret (default: IGOUDAR_CLIENT_SECRET)"))
		.option("--client-secret-stdin", "read the secret from standard input (keeps it out of the shell history)")
		.option("--default", "make this profile the default")
		.addHelpText(
			"after",
			`${examplesText([
				"igoudar login --url https://igoudar.example --client-id igc_... --client-secret igs_...",
				'printf %s "$SECRET" | igoudar login --profile staging --url https://staging.example --client-id igc_... --client-secret-stdin',
			])}\nThe profile is saved (mode 0600) in $XDG_CONFIG_HOME/igoudar/config.toml (~/.config without it).\n`,
		)
		.action(async (options: Record<string, unknown>, self: Command) => {
			const globals = self.optsWithGlobals() as GlobalOptions;
			const url = (options.url as string | undefined) ?? env.IGOUDAR_URL;
			const clientId = (options.clientId as string | undefined) ?? env.IGOUDAR_CLIENT_ID;
			const clientSecret = options.clientSecretStdin
				? await readStdin()
				: ((options.clientSecret as string | undefined) ?? env.IGOUDAR_CLIENT_SECRET);
			if (!url || !clientId || !clientSecret) {
				throw new UsageError("login needs --url, --client-id and --client-secret (or their IGOUDAR_* variables)");
			}
			// Only a working credential is saved: one token request proves it.
			const token = await new TokenSource(url, { clientId, clientSecret }, (input, init) => fetch(input, init), {
				maxAttempts: 2,
			}).get();
			const claims = claimsOf(token);
			const path = configPath(env);
			const config = await readConfig(path);
			const name = globals.profile ?? env.IGOUDAR_PROFILE ?? "default";
			const tenant = globals.tenant ?? claims.tenant_id ?? undefined;
			config.profiles[name] = { url, client_id: clientId, client_secret: clientSecret, tenant };
			if (options.default || !config.default_profile || !config.profiles[config.default_profile]) {
				config.default_profile = name;
			}
			await writeConfig(path, config);
			print(
				runtime,
				globals,
				{
					profile: name,
					default: config.default_profile === name,
					url,
					client_id: clientId,
					role: claims.role,
					tenant,
				},
				[],
			);
		});

	program
		.command("whoami")
		.description("Show the profile, address and identity commands run with")
		.addHelpText("after", examplesText(["igoudar whoami", "IGOUDAR_PROFILE=staging igoudar whoami -o json"]))
		.action(async (_options: unknown, self: Command) => {
			const globals = self.optsWithGlobals() as GlobalOptions;
			const settings = await resolveSettings(globals, env);
			let token = settings.token;
			if (!token) {
				if (!settings.clientId || !settings.clientSecret)
					throw new UsageError(`profile "${settings.profileName}" has no credentials`);
				const credentials = { clientId: settings.clientId, clientSecret: settings.clientSecret };
				token = await new TokenSource(settings.url, credentials, (input, init) => fetch(input, init), {
					maxAttempts: 2,
				}).get();
			}
			const claims = claimsOf(token);
			print(
				runtime,
				globals,
				{
					profile: settings.profileName,
					url: settings.url,
					client_id: claims.client_id ?? settings.clientId,
					role: claims.role,
					tenant: settings.tenant ?? null,
				},
				[],
			);
		});

	const profiles = program
		.command("profiles")
		.description("The saved profiles: list them, pick the default, remove one");
	profiles.addHelpText("after", examplesText(["igoudar profiles list", "igoudar profiles use staging"]));
	profiles
		.command("list")
		.description("List the profiles (the default marked *)")
		.addHelpText("after", examplesText(["igoudar profiles list", "igoudar profiles list -o json"]))
		.action(async (_options: unknown, self: Command) => {
			const globals = self.optsWithGlobals() as GlobalOptions;
			const config = await readConfig(configPath(env));
			const rows = Object.entries(config.profiles).map(([name, profile]) => ({
				default: config.default_profile === name ? "*" : "",
				name,
				url: profile.url,
				client_id: profile.client_id,
				tenant: profile.tenant,
			}));
			if (globals.output === "table")
				runtime.io.stdout.write(table(rows, ["default", "name", "url", "client_id", "tenant"]));
			else print(runtime, globals, rows, []);
		});
	profiles
		.command("use")
		.description("Make a profile the default")
		.argument("<name>")
		.addHelpText("after", examplesText(["igoudar profiles use staging"]))
		.action(async (name: string) => {
			const path = configPath(env);
			const config = await readConfig(path);
			if (!config.profiles[name]) throw new UsageError(`no profile "${name}" in ${path}`);
			config.default_profile = name;
			await writeConfig(path, config);
			runtime.io.stdout.write(`default profile: ${name}\n`);
		});
	profiles
		.command("remove")
		.description("Forget a profile and its secret (log out)")
		.argument("<name>")
		.addHelpText("after", examplesText(["igoudar profiles remove staging"]))
		.action(async (name: string) => {
			const path = configPath(env);
			const config = await readConfig(path);
			if (!config.profiles[name]) throw new UsageError(`no profile "${name}" in ${path}`);
			delete config.profiles[name];
			if (config.default_profile === name) config.default_profile = Object.keys(config.profiles)[0];
			await writeConfig(path, config);
			runtime.io.stdout.write(`removed profile: ${name}\n`);
		});
}
