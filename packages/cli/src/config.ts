import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "smol-toml";
import { UsageError } from "./exit-codes.js";

/** One set of credentials for one Igoudar endpoint, as `igoudar login` saved it. */
export interface Profile {
	url: string;
	client_id?: string;
	client_secret?: string;
	/** The tenant tenant-scoped commands act on when `--tenant` is not given. */
	tenant?: string;
}

export interface ConfigFile {
	default_profile?: string;
	profiles: Record<string, Profile>;
}

/** `$XDG_CONFIG_HOME/igoudar/config.toml`, `~/.config/igoudar/config.toml` without it. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
	const base = env.XDG_CONFIG_HOME?.trim() ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), ".config");
	return join(base, "igoudar", "config.toml");
}

export async function readConfig(path: string): Promise<ConfigFile> {
	let text: string;
	try {
		text = await readFile(path, "utf8");
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === "ENOENT") return { profiles: {} };
		throw error;
	}
	let parsed: Record<string, unknown>;
	try {
		parsed = parse(text);
	} catch (error) {
		throw new UsageError(`${path} is not valid TOML: ${error instanceof Error ? error.message : String(error)}`);
	}
	const profiles: Record<string, Profile> = {};
	const table = typeof parsed.profiles === "object" && parsed.profiles !== null ? parsed.profiles : {};
	for (const [name, value] of Object.entries(table)) {
		if (typeof value !== "object" || value === null) continue;
		const entry = value as Record<string, unknown>;
		if (typeof entry.url !== "string") continue;
		profiles[name] = {
			url: entry.url,
			client_id: stringOrUndefined(entry.client_id),
			client_secret: stringOrUndefined(entry.client_secret),
			tenant: stringOrUndefined(entry.tenant),
		};
	}
	return { default_profile: stringOrUndefined(parsed.default_profile), profiles };
}

/**
 * The file holds client secrets: it is written owner-only (0600, in a 0700 directory) through a
 * temporary file and a rename, so a crash never leaves half a file and no other user can read
 * it even for a moment.
 */
export async function writeConfig(path: string, config: ConfigFile): Promise<void> {
	const profiles = Object.fromEntries(
		Object.entries(config.profiles).map(([name, profile]) => [
			name,
			Object.fromEntries(Object.entries(profile).filter(([, value]) => value !== undefined)),
		]),
	);
	const body = stringify({
		...(config.default_profile ? { default_profile: config.default_profile } : {}),
		profiles,
	});
	await writePrivateFile(path, `# igoudar profiles, written by \`igoudar login\`\n${body}\n`);
}

/** Owner-only (0600 in a 0700 directory), whole or not at all: a temporary file, then a rename. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
	await mkdir(dirname(path), { recursive: true, mode: 0o700 });
	const temporary = `${path}.${process.pid}.tmp`;
	await writeFile(temporary, text, { mode: 0o600 });
	await chmod(temporary, 0o600);
	await rename(temporary, path);
}

export interface Settings {
	profileName: string;
	url: string;
	clientId?: string;
	clientSecret?: string;
	token?: string;
	tenant?: string;
}

/**
 * What a command runs with: the profile (`--profile`, else IGOUDAR_PROFILE, else the default),
 * each field overridden by its IGOUDAR_* variable, and `--tenant` over both.
 */
export async function resolveSettings(
	options: { profile?: string; tenant?: string },
	env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
	const config = await readConfig(configPath(env));
	const profileName = options.profile ?? env.IGOUDAR_PROFILE ?? config.default_profile ?? "default";
	const profile = config.profiles[profileName];
	if ((options.profile || env.IGOUDAR_PROFILE) && !profile && !env.IGOUDAR_URL) {
		throw new UsageError(
			`no profile "${profileName}" in ${configPath(env)} (run: igoudar login --profile ${profileName})`,
		);
	}
	const url = env.IGOUDAR_URL || profile?.url;
	if (!url) throw new UsageError("not logged in: run `igoudar login` or set IGOUDAR_URL and credentials");
	return {
		profileName,
		url,
		clientId: env.IGOUDAR_CLIENT_ID || profile?.client_id,
		clientSecret: env.IGOUDAR_CLIENT_SECRET || profile?.client_secret,
		token: env.IGOUDAR_TOKEN || undefined,
		tenant: options.tenant || env.IGOUDAR_TENANT || profile?.tenant,
	};
}

function stringOrUndefined(value: unknown): string | undefined {
	return typeof value === "string" && value !== "" ? value : undefined;
}
