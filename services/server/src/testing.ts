import { randomBytes } from "node:crypto";
import { createDatabase, type DatabaseHandle } from "@igoudar/db";
import { createTestDatabase } from "@igoudar/db/testing";
import { bootstrapOperator } from "@igoudar/tenants";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { type ServerConfig, serverConfigFromEnv, type Target } from "./config";
import { createPlatform, type Platform } from "./platform";
import { createApiRedis } from "./redis";

export const TEST_OPERATOR = { clientId: "igc_test_operator", clientSecret: "igs_test-operator-secret-0123456789" };

/**
 * Limits no ordinary test reaches: a test does the work of many clients from one address, often
 * for one tenant, with no worker to end its operations. A test of these limits passes its own.
 */
export const GENEROUS_TEST_LIMITS = {
	IGOUDAR_TOKEN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: "1000000",
	IGOUDAR_AUTH_FAILURES_PER_MINUTE: "1000000",
	IGOUDAR_MAX_OPEN_OPERATIONS_PER_TENANT: "1000000",
};

export interface InjectOptions {
	token?: string;
	body?: unknown;
	headers?: Record<string, string>;
	/** The peer address the request comes from (default 127.0.0.1). */
	remoteAddress?: string;
}

export interface InjectResult<T = Record<string, unknown>> {
	status: number;
	body: T;
	headers: Record<string, unknown>;
}

/**
 * A whole platform in this process on a private database (cloned from the migrated template) and
 * a private Redis key prefix, so test files run in parallel without seeing each other.
 */
export class TestPlatform {
	private operatorTokenCache?: string;

	private constructor(
		readonly platform: Platform,
		readonly database: DatabaseHandle,
		readonly redis: Redis,
		readonly config: ServerConfig,
		private readonly dropDatabase: () => Promise<void>,
	) {}

	/**
	 * `databaseUrl` runs the platform on a database the caller owns (e.g. a private cluster a fault
	 * test restarts), migrated already and left in place on close.
	 */
	static async start(
		options: { target?: Target; env?: NodeJS.ProcessEnv; logger?: FastifyBaseLogger; databaseUrl?: string } = {},
	): Promise<TestPlatform> {
		const testDb = options.databaseUrl
			? { url: options.databaseUrl, drop: async () => {} }
			: await createTestDatabase();
		const config = serverConfigFromEnv(options.target ?? "all", {
			REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
			IGOUDAR_REDIS_PREFIX: `igt-${randomBytes(5).toString("hex")}`,
			...GENEROUS_TEST_LIMITS,
			...options.env,
			DATABASE_URL: testDb.url,
		});
		// Ten connections per platform: test files run three at a time against max_connections 100.
		// Tests fire a hundred parallel requests at ten connections on a shared, busy machine: a
		// request waiting its turn for a connection is load, not the database being down.
		const database = createDatabase({ url: testDb.url, poolSize: 10, connectionTimeoutMs: 60_000 });
		const logger =
			options.logger ?? (pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) as unknown as FastifyBaseLogger);
		// The client the server itself uses: a request never waits on Redis.
		const redis = createApiRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
		// Fault tests stop Redis on purpose; a refused reconnect is expected, not worth a warning.
		redis.on("error", () => {});
		try {
			await bootstrapOperator(database.db, TEST_OPERATOR, logger);
			const platform = await createPlatform({ config, database, redis, logger, backgroundTasks: false });
			await platform.start();
			await platform.app.ready();
			return new TestPlatform(platform, database, redis, config, testDb.drop);
		} catch (error) {
			// A start that fails must not leave its database, pool or connection behind.
			redis.disconnect();
			await database.close().catch(() => undefined);
			await testDb.drop().catch(() => undefined);
			throw error;
		}
	}

	get app() {
		return this.platform.app;
	}

	get db() {
		return this.database.db;
	}

	async request<T = Record<string, unknown>>(
		method: string,
		url: string,
		options: InjectOptions = {},
	): Promise<InjectResult<T>> {
		const headers: Record<string, string> = { ...options.headers };
		if (options.token) headers.authorization = `Bearer ${options.token}`;
		const response = await this.app.inject({
			method: method as "GET",
			url,
			headers,
			...(options.remoteAddress ? { remoteAddress: options.remoteAddress } : {}),
			...(options.body === undefined ? {} : { payload: options.body as Record<string, unknown> }),
		});
		const text = response.body;
		let body: unknown = text;
		try {
			body = text ? JSON.parse(text) : null;
		} catch {
			// not JSON (metrics): keep the text
		}
		return { status: response.statusCode, body: body as T, headers: response.headers };
	}

	async token(clientId: string, clientSecret: string): Promise<string> {
		const res = await this.request<{ access_token: string }>("POST", "/v1/auth/token", {
			body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
		});
		if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body.access_token;
	}

	async operatorToken(): Promise<string> {
		this.operatorTokenCache ??= await this.token(TEST_OPERATOR.clientId, TEST_OPERATOR.clientSecret);
		return this.operatorTokenCache;
	}

	async createTenant(body: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
		const res = await this.request<{ id: string; name: string }>("POST", "/v1/tenants", {
			token: await this.operatorToken(),
			body: { name: `t-${randomBytes(5).toString("hex")}`, ...body },
		});
		if (res.status !== 201) throw new Error(`tenant create failed: ${res.status} ${JSON.stringify(res.body)}`);
		return res.body;
	}

	/** A service account of the tenant with a fresh token. */
	async principal(
		tenantId: string,
		role: "admin" | "member" | "viewer",
	): Promise<{ id: string; clientId: string; clientSecret: string; token: string }> {
		const res = await this.request<{ id: string; client_id: string; client_secret: string }>(
			"POST",
			`/v1/tenants/${tenantId}/service-accounts`,
			{ token: await this.operatorToken(), body: { name: `${role}-${randomBytes(4).toString("hex")}`, role } },
		);
		if (res.status !== 201) throw new Error(`service account create failed: ${res.status} ${JSON.stringify(res.body)}`);
		const token = await this.token(res.body.client_id, res.body.client_secret);
		return { id: res.body.id, clientId: res.body.client_id, clientSecret: res.body.client_secret, token };
	}

	async close(): Promise<void> {
		await this.platform.close();
		const keys = await this.redis.keys(`${this.config.redisPrefix}*`);
		if (keys.length > 0) await this.redis.del(...keys);
		this.redis.disconnect();
		await this.database.close();
		await this.dropDatabase();
	}
}
