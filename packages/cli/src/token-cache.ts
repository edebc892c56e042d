import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { writePrivateFile } from "./config.js";

interface Entry {
	token: string;
	expiresAt: number;
}

/** A cached token is used only while it has this long left; the SDK refreshes at 30 s. */
const MIN_LEFT_MS = 60_000;

/**
 * Access tokens kept between commands (owner-only, in $XDG_CACHE_HOME/igoudar), so a script of
 * fifty commands asks for one token rather than fifty: each token request costs the server a
 * deliberate slow hash of the secret and an audit record. Keyed by a hash of the address, the
 * client id and the secret, so a rotated secret never reuses a token of the old one.
 */
export class TokenCache {
	private readonly path: string;
	private readonly key: string;

	constructor(env: NodeJS.ProcessEnv, credentials: { url: string; clientId: string; clientSecret: string }) {
		const base = env.XDG_CACHE_HOME?.trim() ? env.XDG_CACHE_HOME : join(env.HOME ?? homedir(), ".cache");
		this.path = join(base, "igoudar", "tokens.json");
		this.key = createHash("sha256")
			.update(`${credentials.url}\n${credentials.clientId}\n${credentials.clientSecret}`)
			.digest("base64url");
	}

	private async entries(): Promise<Record<string, Entry>> {
		try {
			return JSON.parse(await readFile(this.path, "utf8")) as Record<string, Entry>;
		} catch {
			return {};
		}
	}

	async read(): Promise<Entry | undefined> {
		const entry = (await this.entries())[this.key];
		return entry && entry.expiresAt - Date.now() > MIN_LEFT_MS ? entry : undefined;
	}

	async write(token: string, expiresInSeconds: number): Promise<void> {
		const now = Date.now();
		const kept = Object.entries(await this.entries()).filter(([, entry]) => entry.expiresAt > now);
		const entries = { ...Object.fromEntries(kept), [this.key]: { token, expiresAt: now + expiresInSeconds * 1000 } };
		// A cache that cannot be written only costs the next command a token request.
		await writePrivateFile(this.path, JSON.stringify(entries)).catch(() => undefined);
	}
}

/**
 * The fetch under the SDK for one command: every request bounded by the command's deadline, and
 * the token request answered from the cache once (a 401 then makes the SDK ask again, and that
 * one goes to the server).
 */
export function commandFetch(deadline: AbortSignal, cache: TokenCache | undefined): typeof fetch {
	let servedFromCache = false;
	return async (input, init) => {
		const request = new Request(input, init);
		const isTokenRequest = request.method === "POST" && new URL(request.url).pathname === "/v1/auth/token";
		if (isTokenRequest && cache && !servedFromCache) {
			const cached = await cache.read();
			if (cached) {
				servedFromCache = true;
				const expiresIn = Math.floor((cached.expiresAt - Date.now()) / 1000);
				return Response.json({ access_token: cached.token, token_type: "Bearer", expires_in: expiresIn });
			}
		}
		const response = await fetch(request, { signal: AbortSignal.any([request.signal, deadline]) });
		if (isTokenRequest && cache && response.ok) {
			const body = (await response.clone().json()) as { access_token: string; expires_in: number };
			await cache.write(body.access_token, body.expires_in);
		}
		return response;
	};
}
