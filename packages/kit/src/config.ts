import { isIP } from "node:net";

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
	 * The proxies whose `X-Forwarded-For` is believed for the client address (rate limits key on
	 * it): addresses and CIDRs. Empty: the peer's own address is the client's.
	 */
	trustedProxies: string[];
	/** Requests per minute per authenticated principal. */
	rateLimitPerMinute: number;
	/** Token requests per minute per client id, whatever the address. */
	tokenRateLimitPerMinute: number;
	/** Token requests per minute per client address, whatever the client id: rotating ids buy nothing. */
	tokenRateLimitPerAddressPerMinute: number;
	/** Failed bearer authentications per minute per client address before they answer 429. */
	authFailuresPerMinute: number;
	/** Page size when a list request names no `limit`, and the most one page holds. */
	pageSizeDefault: number;
	pageSizeMax: number;
	/** When set, `GET /metrics` wants it as a bearer token. */
	metricsToken?: string;
	/** Operations a tenant may have pending or running at once; the next request answers 429. */
	maxOpenOperationsPerTenant: number;
	/** Requests at work in one process at once; the next answers 503 at once (admission.ts). */
	maxRequestsInFlight: number;
	/**
	 * How long an api process reuses a caller's account and tenant status: the bound on how late a
	 * revocation or suspension takes effect on a replica whose notice was lost (default 1000).
	 */
	principalCacheMs?: number;
}

/** The contract's bound on `?limit=`: a deployment may lower the page size, never raise it. */
export const PAGE_SIZE_CEILING = 200;

export function kitConfigFromEnv(env: NodeJS.ProcessEnv = process.env): KitConfig {
	const pageSizeMax = envInt("IGOUDAR_PAGE_SIZE_MAX", PAGE_SIZE_CEILING, env);
	const pageSizeDefault = envInt("IGOUDAR_PAGE_SIZE_DEFAULT", Math.min(50, pageSizeMax), env);
	if (pageSizeMax < 1 || pageSizeMax > PAGE_SIZE_CEILING) {
		throw new Error(`IGOUDAR_PAGE_SIZE_MAX must be between 1 and ${PAGE_SIZE_CEILING}`);
	}
	if (pageSizeDefault < 1 || pageSizeDefault > pageSizeMax) {
		throw new Error("IGOUDAR_PAGE_SIZE_DEFAULT must be between 1 and IGOUDAR_PAGE_SIZE_MAX");
	}
	const metricsToken = env.IGOUDAR_METRICS_TOKEN || undefined;
	if (metricsToken !== undefined && metricsToken.length < 16) {
		throw new Error("IGOUDAR_METRICS_TOKEN must be at least 16 characters");
	}
	const maxOpenOperationsPerTenant = envInt("IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT", 100, env);
	if (maxOpenOperationsPerTenant < 1) throw new Error("IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT must be at least 1");
	const maxRequestsInFlight = envInt("IGOUDAR_MAX_REQUESTS_IN_FLIGHT", 1024, env);
	if (maxRequestsInFlight < 1) throw new Error("IGOUDAR_MAX_REQUESTS_IN_FLIGHT must be at least 1");
	return {
		issuer: envString("IGOUDAR_ISSUER", "https://igoudar.local", env),
		audience: envString("IGOUDAR_AUDIENCE", "igoudar-api", env),
		jwksUrl: env.IGOUDAR_JWKS_URL || undefined,
		tokenTtlSeconds: envInt("IGOUDAR_TOKEN_TTL_SECONDS", 900, env),
		bodyLimit: envInt("IGOUDAR_BODY_LIMIT_BYTES", 1024 * 1024, env),
		publicUrl: env.IGOUDAR_PUBLIC_URL || undefined,
		trustedProxies: trustedProxiesFromEnv(env),
		rateLimitPerMinute: envInt("IGOUDAR_RATE_LIMIT_PER_MINUTE", 1200, env),
		tokenRateLimitPerMinute: envInt("IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE", 30, env),
		tokenRateLimitPerAddressPerMinute: envInt("IGOUDAR_TOKEN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE", 60, env),
		authFailuresPerMinute: envInt("IGOUDAR_AUTH_FAILURES_PER_MINUTE", 30, env),
		pageSizeDefault,
		pageSizeMax,
		metricsToken,
		maxOpenOperationsPerTenant,
		maxRequestsInFlight,
		principalCacheMs: envInt("IGOUDAR_PRINCIPAL_CACHE_MS", 1_000, env),
	};
}

/** Names proxy-addr understands for whole ranges: loopback, link-local and unique-local addresses. */
const RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * `IGOUDAR_TRUSTED_PROXIES`: a comma-separated list of addresses and CIDRs. The older
 * `IGOUDAR_TRUST_PROXY` is still read when it holds such a list; its `true` and hop counts are
 * refused, because they believe a header any direct caller can write and so let a client pick the
 * address its rate limits are counted under.
 */
export function trustedProxiesFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
	const list = env.IGOUDAR_TRUSTED_PROXIES;
	const legacy = env.IGOUDAR_TRUST_PROXY;
	const legacySet = legacy !== undefined && legacy !== "" && legacy !== "false";
	if (list !== undefined && list !== "" && legacySet) {
		throw new Error("IGOUDAR_TRUST_PROXY is replaced by IGOUDAR_TRUSTED_PROXIES: set only the latter");
	}
	if (legacySet && (legacy === "true" || /^\d+$/.test(legacy))) {
		throw new Error(
			`IGOUDAR_TRUST_PROXY=${legacy} would believe any caller's X-Forwarded-For; list the proxies' addresses in IGOUDAR_TRUSTED_PROXIES instead (e.g. 10.0.0.5,10.1.0.0/16)`,
		);
	}
	const raw = legacySet ? legacy : (list ?? "");
	const entries = raw
		.split(",")
		.map((entry) => entry.trim())
		.filter((entry) => entry !== "");
	for (const entry of entries) {
		if (!isAddressOrRange(entry)) {
			throw new Error(`IGOUDAR_TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR`);
		}
	}
	return entries;
}

function isAddressOrRange(entry: string): boolean {
	if (RANGE_NAMES.has(entry)) return true;
	const [address, bits, ...rest] = entry.split("/");
	if (rest.length > 0 || !address) return false;
	const family = isIP(address);
	if (family === 0) return false;
	if (bits === undefined) return true;
	if (!/^\d{1,3}$/.test(bits)) return false;
	return Number(bits) <= (family === 4 ? 32 : 128);
}
