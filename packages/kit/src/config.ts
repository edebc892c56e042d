/** Reads an integer setting from the environment, refusing garbage instead of guessing. */
export function envInt(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	const value = Number(raw);
	if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
	return value;
}

export function envString(name: string, fallback: string, env: NodeJS.ProcessEnv = process.env): string {
	const raw = env[name];
	return raw === undefined || raw === "" ? fallback : raw;
}

export interface KitConfig {
	issuer: string;
	audience: string;
	jwksUrl?: string;
	/** Access token lifetime in seconds. */
	tokenTtlSeconds: number;
	/** Largest accepted request body in bytes. */
	bodyLimit: number;
	/** Public base URL printed in the spec's `servers`. */
	publicUrl?: string;
	/**
	 * Which proxies to believe for the client address (rate limits key on it): `true` for all (a
	 * private network behind one router), a hop count, or a list of addresses and CIDRs.
	 */
	trustProxy: boolean | number | string;
	/** Requests per minute per principal, and token requests per minute per client and address. */
	rateLimitPerMinute: number;
	tokenRateLimitPerMinute: number;
}

export function kitConfigFromEnv(env: NodeJS.ProcessEnv = process.env): KitConfig {
	return {
		issuer: envString("IGOUDAR_ISSUER", "https://igoudar.local", env),
		audience: envString("IGOUDAR_AUDIENCE", "igoudar-api", env),
		jwksUrl: env.IGOUDAR_JWKS_URL || undefined,
		tokenTtlSeconds: envInt("IGOUDAR_TOKEN_TTL_SECONDS", 900, env),
		bodyLimit: envInt("IGOUDAR_BODY_LIMIT_BYTES", 1024 * 1024, env),
		publicUrl: env.IGOUDAR_PUBLIC_URL || undefined,
		trustProxy: parseTrustProxy(env.IGOUDAR_TRUST_PROXY),
		rateLimitPerMinute: envInt("IGOUDAR_RATE_LIMIT_PER_MINUTE", 1200, env),
		tokenRateLimitPerMinute: envInt("IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE", 30, env),
	};
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
	if (raw === undefined || raw === "" || raw === "false") return false;
	if (raw === "true") return true;
	if (/^\d+$/.test(raw)) return Number(raw);
	return raw;
}
