import { createDatabase, migrate } from "@igoudar/db";
import { bootstrapOperator } from "@igoudar/tenants";
import closeWithGrace from "close-with-grace";
import { checkProductionSettings, parseTarget, serverConfigFromEnv } from "./config";
import { createLogger } from "./logger";
import { createPlatform } from "./platform";
import { createApiRedis, ensureRedis, redisHashTag } from "./redis";

/**
 * igoudar-server --target=all|tenants|worker. Wires configuration, logging, the database, Redis,
 * migrations and shutdown; everything else lives in the services.
 */
async function main(): Promise<void> {
	const target = parseTarget(process.argv.slice(2));
	const config = serverConfigFromEnv(target);
	const logger = createLogger(config.logLevel);
	checkProductionSettings(config);

	if (!config.databaseUrl && target !== "all") {
		throw new Error("DATABASE_URL is required for any target but `all` (which can use embedded PGlite).");
	}
	const database = createDatabase(
		config.databaseUrl
			? { url: config.databaseUrl, applicationName: `igoudar-${target}` }
			: { pgliteDir: config.pgliteDir },
	);
	logger.info({ database: database.kind, target }, "starting");
	if (!config.keyEncryptionSecret) {
		logger.warn("IGOUDAR_KEY_ENCRYPTION_SECRET is unset: token signing keys are stored unsealed in the database");
	}
	await migrate(database);
	await bootstrapOperator(
		database.db,
		{
			clientId: config.bootstrapClientId,
			clientSecret: config.bootstrapClientSecret,
			credentialFile: config.bootstrapCredentialFile,
		},
		logger,
	);

	const redisEndpoint = await ensureRedis(
		config.redisUrl,
		{ mayStart: config.redisAutostart, dataDir: config.dataDir },
		logger,
	);
	if (redisHashTag(config.redisPrefix) === undefined) {
		logger.warn(
			{ prefix: config.redisPrefix },
			"IGOUDAR_REDIS_PREFIX has no hash tag: fine on one Redis, but a Redis Cluster needs one, e.g. {igoudar}",
		);
	}
	const redis = createApiRedis(redisEndpoint.url, { commandTimeoutMs: config.redisCommandTimeoutMs });
	// One line when the connection is lost and one when it is back, not one per reconnect attempt.
	let redisDown = false;
	redis.on("error", (error) => {
		if (redisDown) return;
		redisDown = true;
		logger.warn({ err: error }, "API lost its Redis connection; serving on, rate limits counted in-process");
	});
	redis.on("ready", () => {
		if (!redisDown) return;
		redisDown = false;
		logger.info("API Redis connection is back");
	});

	const platform = await createPlatform({ config, database, redis, logger });
	await platform.start();
	await platform.app.listen({ host: config.host, port: config.port });

	closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
		if (err) logger.error({ err }, "shutting down after an error");
		else logger.info({ signal }, "shutting down");
		await platform.close();
		redis.disconnect();
		await redisEndpoint.stop();
		await database.close();
	});
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : error);
	process.exit(1);
});
