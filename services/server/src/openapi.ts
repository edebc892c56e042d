import { createDatabase } from "@igoudar/db";
import type { FastifyBaseLogger } from "fastify";
import { Redis } from "ioredis";
import { pino } from "pino";
import { serverConfigFromEnv } from "./config";
import { createPlatform } from "./platform";

/** Stable JSON: sorted keys, so the committed spec only changes when the API does. */
function stable(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(stable);
	if (value && typeof value === "object") {
		return Object.fromEntries(
			Object.entries(value as Record<string, unknown>)
				.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
				.map(([k, v]) => [k, stable(v)]),
		);
	}
	return value;
}

/**
 * The merged spec of every service, built from the route schemas. Nothing connects: the pool and
 * Redis client are created lazily and never used.
 */
export async function generateOpenApi(): Promise<string> {
	const config = serverConfigFromEnv("all", { DATABASE_URL: "postgres://unused@127.0.0.1:1/unused" });
	const database = createDatabase({ url: config.databaseUrl });
	const redis = new Redis({ lazyConnect: true });
	const logger = pino({ level: "silent" }) as unknown as FastifyBaseLogger;
	const platform = await createPlatform({ config, database, redis, logger, backgroundTasks: false, rateLimit: false });
	await platform.app.ready();
	const spec = platform.app.swagger();
	await platform.close();
	await database.close();
	redis.disconnect();
	return `${JSON.stringify(stable(spec), null, "\t")}\n`;
}
