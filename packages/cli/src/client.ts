import { createIgoudarClient, type IgoudarClient, type Operation, type WaitOptions } from "@igoudar/sdk";
import { resolveSettings, type Settings } from "./config.js";
import { UsageError } from "./exit-codes.js";
import type { Io } from "./output.js";
import { commandFetch, TokenCache } from "./token-cache.js";

/** The options every command takes (declared on the program, so they work anywhere in the line). */
export interface GlobalOptions {
	profile?: string;
	tenant?: string;
	output: "table" | "json" | "yaml";
	timeout: number;
}

export interface Session {
	settings: Settings;
	client: IgoudarClient;
	signal: AbortSignal;
	waitOptions: WaitOptions;
	/** Ends the progress line, if one was drawn. */
	finish(): void;
}

/**
 * The client a command runs with, from the profile and IGOUDAR_* variables, and the one
 * deadline (`--timeout`) that bounds its requests, its retries and any wait.
 */
export async function openSession(globals: GlobalOptions, io: Io, env: NodeJS.ProcessEnv): Promise<Session> {
	const settings = await resolveSettings(globals, env);
	if (!settings.token && !(settings.clientId && settings.clientSecret)) {
		throw new UsageError(`profile "${settings.profileName}" has no credentials: run \`igoudar login\``);
	}
	const timeoutMs = globals.timeout * 1000;
	const signal = AbortSignal.timeout(timeoutMs);
	const client = createIgoudarClient({
		baseUrl: settings.url,
		clientId: settings.clientId,
		clientSecret: settings.clientSecret,
		token: settings.token,
		// Retries never outlast the command's own deadline.
		retry: { maxElapsedMs: Math.min(timeoutMs, 120_000) },
		fetch: commandFetch(
			signal,
			settings.clientId && settings.clientSecret
				? new TokenCache(env, { url: settings.url, clientId: settings.clientId, clientSecret: settings.clientSecret })
				: undefined,
		),
	});
	const progress = io.stderr.isTTY === true ? progressLine(io) : undefined;
	return {
		settings,
		client,
		signal,
		waitOptions: { timeoutMs, signal, onProgress: progress?.draw },
		finish: () => progress?.end(),
	};
}

/** One line on the terminal, redrawn on each poll: kind, status, percent, and a retry if one waits. */
function progressLine(io: Io) {
	let drawn = false;
	return {
		draw(operation: Operation) {
			const retry = operation.retry ? `, retry ${operation.retry.attempt}/${operation.retry.max_attempts}` : "";
			io.stderr.write(`\r\x1b[2K${operation.kind}: ${operation.status} ${operation.progress}%${retry}`);
			drawn = true;
		},
		end() {
			if (drawn) io.stderr.write("\n");
			drawn = false;
		},
	};
}
