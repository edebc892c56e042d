import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { billingJobs, billingService } from "@igoudar/billing";
import { computeJobs, computeService, consistencyCheckers } from "@igoudar/compute";
import type { DatabaseHandle } from "@igoudar/db";
import { energyJobs, energyService, feedDemoSite } from "@igoudar/energy";
import { OutboxRelay, pruneRelayedOutbox, redisConnectionFactory } from "@igoudar/jobs";
import {
	type App,
	createApp,
	createAuthenticator,
	type Probe,
	purgeExpiredIdempotencyKeys,
	type RouteRecord,
	redisRevocations,
} from "@igoudar/kit";
import { type Provisioner, provisionerSettingsFromEnv, startProvisioner } from "@igoudar/provisioner";
import { storageConsistency, storageJobs, storageService } from "@igoudar/storage";
import { createKeySealer, enforceKeySealing, maintainSigningKeys, TokenSigner, tenantsService } from "@igoudar/tenants";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";
import type { Logger as PinoLogger } from "pino";
import { checkProductionSettings, type ServerConfig, type Target } from "./config";
import { registerPlatformMetrics } from "./metrics";
import { readyWithin } from "./redis";

export interface PlatformOptions {
	config: ServerConfig;
	database: DatabaseHandle;
	/**
	 * The API's Redis connection: rate limits and the readiness probe. Give it fail-fast options
	 * (`createApiRedis`): a request must never wait on Redis. The relay and the workers open their
	 * own connections from `config.redisUrl`.
	 */
	redis: Redis;
	logger: FastifyBaseLogger;
	/** Tests drive background loops by hand. */
	backgroundTasks?: boolean;
	/** False for the spec generator, which has no Redis to count in. */
	rateLimit?: boolean;
	/** Environment for worker settings (driver, concurrency, reconciler timings). */
	env?: NodeJS.ProcessEnv;
}

export interface Platform {
	app: App;
	relay?: OutboxRelay;
	routes: RouteRecord[];
	/** Prepares shared state (signing keys) and starts the background loops the target owns. */
	start(): Promise<void>;
	/** Runs the periodic maintenance once, now (what the background loops do on their timers). */
	maintain(): Promise<void>;
	/** Reads the database-backed metrics gauges now (what their timer does). */
	refreshMetrics(): Promise<void>;
	close(): Promise<void>;
}

const committedSpecPath = fileURLToPath(new URL("../../../openapi/igoudar.json", import.meta.url));
let committedSpec: unknown;
/** The merged spec as committed (a test keeps it equal to what the `all` target generates). */
function committedOpenApi(): unknown {
	committedSpec ??= JSON.parse(readFileSync(committedSpecPath, "utf8"));
	return committedSpec;
}

const mountsTenants = (target: Target) => target === "all" || target === "tenants";
const mountsCompute = (target: Target) => target === "all" || target === "compute";
const mountsStorage = (target: Target) => target === "all" || target === "storage";
const mountsBilling = (target: Target) => target === "all" || target === "billing";
const mountsEnergy = (target: Target) => target === "all" || target === "energy";
/** Wherever outbox rows are written or jobs run, a relay moves them; several relays are safe together. */
const runsRelay = (target: Target) => target !== "tenants";
const runsWorkers = (target: Target) => target === "all" || target === "worker";

/** Every job the platform can run: the worker refuses to start if one has no handler. */
export const platformJobs = { ...computeJobs, ...storageJobs, ...billingJobs, ...energyJobs };

/** The consistency audit's checkers beyond compute's own: storage's quotas and pools. */
const consistencyExtensions = [storageConsistency];
/** Every checker of the platform's consistency audit (the API's and the periodic check's). */
export const platformConsistencyCheckers = consistencyCheckers(consistencyExtensions);

/**
 * Mounts the services of a target into one Fastify app and starts the background work it owns.
 * `all` is everything in one process; other targets are one slice of it.
 */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
	const { config, database, redis, logger } = options;
	checkProductionSettings(config);
	const db = database.db;
	const sealer = createKeySealer(config.keyEncryptionSecret);
	const keyPolicy = {
		rotateAfterMs: config.keyRotationHours * 3_600_000,
		publishLeadMs: 10 * 60_000,
		tokenTtlMs: config.kit.tokenTtlSeconds * 1000,
		sealer,
	};
	const probes: Probe[] = [
		{ name: "database", check: () => database.ping() },
		{
			name: "redis",
			check: async () => {
				// A client that is not connected answers for itself, without a command to wait on.
				if (redis.status !== "ready") throw new Error(redis.status);
				await redis.ping();
			},
		},
	];
	// Revocations and suspensions reach every replica's authenticator through Redis.
	const revocations = redisRevocations(redis, config.redisPrefix, logger);
	const tags = [
		...(mountsTenants(config.target) ? tenantsService.tags : []),
		...(mountsCompute(config.target) ? computeService.tags : []),
		...(mountsStorage(config.target) ? storageService.tags : []),
		...(mountsBilling(config.target) ? billingService.tags : []),
		...(mountsEnergy(config.target) ? energyService.tags : []),
	];
	const { app, routes, metrics } = await createApp({
		db,
		authenticator: createAuthenticator(db, config.kit, {
			revocations,
			principalTtlMs: config.kit.principalCacheMs,
		}),
		config: config.kit,
		probes,
		logger,
		tags,
		openapiDocument: config.target === "all" ? undefined : committedOpenApi,
		rateLimit:
			options.rateLimit === false
				? undefined
				: {
						redis,
						prefix: config.redisPrefix,
						perMinute: config.kit.rateLimitPerMinute,
						tokenPerMinute: config.kit.tokenRateLimitPerMinute,
						tokenPerAddressPerMinute: config.kit.tokenRateLimitPerAddressPerMinute,
						authFailuresPerMinute: config.kit.authFailuresPerMinute,
					},
	});

	const gauges = registerPlatformMetrics(metrics, db);
	const refreshMetrics = async () => {
		await gauges
			.refresh()
			.catch((error: unknown) => logger.warn({ err: error }, "could not refresh the metrics gauges"));
	};

	const relay = runsRelay(config.target)
		? new OutboxRelay({
				db,
				catalog: platformJobs,
				connection: redisConnectionFactory(config.redisUrl),
				prefix: config.redisPrefix,
				// The server's logger is pino underneath; Fastify only types it more narrowly.
				logger: logger as unknown as PinoLogger,
			})
		: undefined;

	const signer = new TokenSigner(db, {
		issuer: config.kit.issuer,
		audience: config.kit.audience,
		ttlSeconds: config.kit.tokenTtlSeconds,
		sealer,
	});
	if (mountsTenants(config.target)) {
		await tenantsService.register(app, {
			db,
			signer,
			revocations,
			oauth: { issuer: config.kit.issuer, publicUrl: config.kit.publicUrl },
		});
	}
	if (mountsCompute(config.target)) {
		await computeService.register(app, {
			db,
			afterCommit: () => relay?.nudge(),
			maxOpenOperationsPerTenant: config.kit.maxOpenOperationsPerTenant,
			consistencyExtensions,
		});
	}
	if (mountsBilling(config.target)) {
		await billingService.register(app, { db, afterCommit: () => relay?.nudge(), settings: config.billing });
	}
	if (mountsEnergy(config.target)) {
		await energyService.register(app, { db, settings: config.energy });
	}
	if (mountsStorage(config.target)) {
		await storageService.register(app, {
			db,
			afterCommit: () => relay?.nudge(),
			maxOpenOperationsPerTenant: config.kit.maxOpenOperationsPerTenant,
		});
	}

	const maintain = async () => {
		await maintainSigningKeys(db, keyPolicy);
		const purged = await purgeExpiredIdempotencyKeys(db);
		if (purged > 0) logger.info({ purged }, "purged expired idempotency keys");
		// Relayed outbox rows of finished operations are kept a week for inspection, then dropped.
		const pruned = await pruneRelayedOutbox(db, 7 * 24 * 3_600_000);
		if (pruned > 0) logger.info({ pruned }, "pruned relayed outbox rows");
	};
	const timers: NodeJS.Timeout[] = [];
	let provisioner: Provisioner | undefined;
	const start = async () => {
		// Counting starts in Redis rather than in the process when Redis answers; when it does not,
		// the API serves anyway (limits counted locally) and switches over once it does.
		if (options.rateLimit !== false) await readyWithin(redis, 5_000);
		await enforceKeySealing(
			db,
			{
				production: config.production,
				sealing: Boolean(config.keyEncryptionSecret),
				replaceUnsealed: config.replaceUnsealedKeys,
			},
			logger,
		);
		await maintainSigningKeys(db, keyPolicy);
		await refreshMetrics();
		if (options.backgroundTasks === false) return;
		relay?.start();
		if (runsWorkers(config.target)) {
			provisioner = await startProvisioner({
				db,
				redisUrl: config.redisUrl,
				prefix: config.redisPrefix,
				logger: logger as unknown as PinoLogger,
				settings: provisionerSettingsFromEnv(options.env ?? process.env),
				billing: config.billing,
				energy: config.energy,
				consistencyCheckers: platformConsistencyCheckers,
			});
		}
		if (config.energy.demo && runsWorkers(config.target)) {
			// The demo site: a day of readings at once, then each hour's as it ends.
			const feedDemo = () =>
				feedDemoSite(db, config.energy, logger as unknown as PinoLogger).catch((error: unknown) =>
					logger.error({ err: error }, "could not feed the demo site"),
				);
			// Not awaited: seeding a day on embedded PGlite takes a while, and must not hold up start.
			void feedDemo();
			timers.push(setInterval(feedDemo, 5 * 60_000).unref());
		}
		timers.push(
			setInterval(() => {
				maintain().catch((error: unknown) => logger.error({ err: error }, "maintenance failed"));
			}, 60_000).unref(),
			setInterval(refreshMetrics, config.metricsRefreshMs).unref(),
		);
	};

	return {
		app,
		relay,
		routes,
		start,
		maintain,
		refreshMetrics,
		async close() {
			for (const timer of timers) clearInterval(timer);
			await app.close();
			await provisioner?.close();
			await relay?.stop();
			await revocations.close();
		},
	};
}
