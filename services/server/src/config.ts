import { type BillingSettings, billingSettingsFromEnv } from "@igoudar/billing";
import { type EnergySettings, energySettingsFromEnv } from "@igoudar/energy";
import { envInt, envString, type KitConfig, kitConfigFromEnv } from "@igoudar/kit";

export const TARGETS = ["all", "tenants", "compute", "storage", "billing", "energy", "worker"] as const;
export type Target = (typeof TARGETS)[number];
/** Named by the architecture but not built yet: refused with a clear message. */
export const PLANNED_TARGETS: readonly string[] = [];

export interface ServerConfig {
	target: Target;
	host: string;
	port: number;
	databaseUrl?: string;
	pgliteDir: string;
	redisUrl: string;
	/** Start a private redis-server when none answers at a loopback REDIS_URL (default: yes). */
	redisAutostart: boolean;
	redisPrefix: string;
	/** How long an API Redis command (rate limit, readiness) may take before it counts as failed. */
	redisCommandTimeoutMs: number;
	logLevel: string;
	/** `NODE_ENV=production`: refuses to run with signing keys that are, or would be, stored unsealed. */
	production: boolean;
	/** Where the server keeps its local state (the private redis-server's pidfile). */
	dataDir: string;
	bootstrapClientId?: string;
	bootstrapClientSecret?: string;
	/** Where to write the first operator credential (mode 0600) instead of printing it in the log. */
	bootstrapCredentialFile?: string;
	keyRotationHours: number;
	/** Seals private signing keys at rest (AES-256-GCM); unset stores them plain. */
	keyEncryptionSecret?: string;
	/** Deletes signing keys stored unsealed and makes fresh sealed ones at start (their tokens stop working). */
	replaceUnsealedKeys: boolean;
	/** How often the database-backed metrics gauges are refreshed. */
	metricsRefreshMs: number;
	/** Default price plan and the grace period before drafts are finalized. */
	billing: BillingSettings;
	/** When hours become final, how often they are attributed, and the demo site. */
	energy: EnergySettings;
	kit: KitConfig;
}

/** Hash-tagged, so the default works on a Redis Cluster as on a single Redis (docs/scaling.md). */
export const DEFAULT_REDIS_PREFIX = "{igoudar}";

export function parseTarget(argv: string[]): Target {
	const flag = argv.find((a) => a.startsWith("--target="));
	const index = argv.indexOf("--target");
	const value = flag ? flag.slice("--target=".length) : index >= 0 ? argv[index + 1] : "all";
	if ((TARGETS as readonly string[]).includes(value ?? "")) return value as Target;
	if (PLANNED_TARGETS.includes(value ?? "")) {
		throw new Error(`target ${value} is not available in this release; use one of ${TARGETS.join(", ")}`);
	}
	throw new Error(`unknown target ${JSON.stringify(value)}; use one of ${TARGETS.join(", ")}`);
}

export function serverConfigFromEnv(target: Target, env: NodeJS.ProcessEnv = process.env): ServerConfig {
	return {
		target,
		host: envString("HOST", "0.0.0.0", env),
		port: envInt("PORT", 8080, env),
		databaseUrl: env.DATABASE_URL || undefined,
		pgliteDir: envString("IGOUDAR_PGLITE_DIR", ".data/pglite", env),
		redisUrl: envString("REDIS_URL", "redis://127.0.0.1:6379", env),
		redisAutostart: envString("IGOUDAR_REDIS_AUTOSTART", "true", env) !== "false",
		// In braces, a Redis Cluster hash tag: every key of a BullMQ queue lands in one slot (see redis.ts).
		redisPrefix: envString("IGOUDAR_REDIS_PREFIX", DEFAULT_REDIS_PREFIX, env),
		redisCommandTimeoutMs: envInt("IGOUDAR_REDIS_COMMAND_TIMEOUT_MS", 500, env),
		logLevel: envString("LOG_LEVEL", "info", env),
		production: env.NODE_ENV === "production",
		dataDir: envString("IGOUDAR_STATE_DIR", ".data", env),
		bootstrapClientId: env.IGOUDAR_BOOTSTRAP_CLIENT_ID || undefined,
		bootstrapClientSecret: env.IGOUDAR_BOOTSTRAP_CLIENT_SECRET || undefined,
		bootstrapCredentialFile: env.IGOUDAR_BOOTSTRAP_CREDENTIAL_FILE || undefined,
		keyRotationHours: envInt("IGOUDAR_KEY_ROTATION_HOURS", 24 * 7, env),
		keyEncryptionSecret: env.IGOUDAR_KEY_ENCRYPTION_SECRET || undefined,
		replaceUnsealedKeys: envString("IGOUDAR_REPLACE_UNSEALED_KEYS", "false", env) === "true",
		metricsRefreshMs: envInt("IGOUDAR_METRICS_REFRESH_MS", 15_000, env),
		billing: billingSettingsFromEnv(env),
		// The dev quickstart (everything in one process on embedded PGlite) shows the demo site.
		energy: energySettingsFromEnv(env, target === "all" && !env.DATABASE_URL && env.NODE_ENV !== "production"),
		kit: kitConfigFromEnv(env),
	};
}

/**
 * Settings production refuses outright, checked before anything connects: without the secret
 * every signing key would be written in the clear, and a database dump could mint tokens.
 */
export function checkProductionSettings(config: ServerConfig): void {
	if (!config.production) return;
	if (!config.keyEncryptionSecret) {
		throw new Error(
			"NODE_ENV=production needs IGOUDAR_KEY_ENCRYPTION_SECRET (32+ characters, the same on every replica): without it token signing keys would be stored unsealed in the database",
		);
	}
}
