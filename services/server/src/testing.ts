import { randomBytes } from "node:crypto";
import { createDatabase, type DatabaseHandle } from "@igoudar/db";
import { createTestDatabase } from "@igoudar/db/testing";
import { bootstrapOperator } from "@igoudar/tenants";
import type { FastifyBaseLogger } from "fastify";
import type { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
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

export interface TestPlatformOptions {
	target?: Target;
	env?: NodeJS.ProcessEnv;
	logger?: FastifyBaseLogger;
	/**
	 * Runs the platform on a database the caller owns (e.g. a private cluster a fault test
	 * restarts), migrated already and left in place on close.
	 */
	databaseUrl?: string;
}

/** What a running platform holds, released again by `close`. */
interface Running {
	platform: Platform;
	database: DatabaseHandle;
	redis: Redis;
	config: ServerConfig;
	dropDatabase: () => Promise<void>;
}

/**
 * A whole platform in this process on a private database (cloned from the migrated template) and
 * a private Redis key prefix, so test files run in parallel without seeing each other.
 *
 * `TestPlatform.start()` gives one that runs; a test file that wants one platform for all its
 * tests calls `useTestPlatform()` instead. An instance is usable only while it runs: anything
 * read before it opens or after it closes throws.
 */
export class TestPlatform {
	private running?: Running;
	private operatorTokenCache?: string;

	static async start(options: TestPlatformOptions = {}): Promise<TestPlatform> {
		const t = new TestPlatform();
		await t.open(options);
		return t;
	}

	/** Starts this (not yet running) instance; a start that fails leaves nothing behind. */
	async open(options: TestPlatformOptions = {}): Promise<void> {
		if (this.running) throw new Error("the test platform is running already");
		const testDb = options.databaseUrl
			? { url: options.databaseUrl, drop: async () => {} }
			: await createTestDatabase();
		let database: DatabaseHandle | undefined;
		let redis: Redis | undefined;
		try {
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
			database = createDatabase({ url: testDb.url, poolSize: 10, connectionTimeoutMs: 60_000 });
			const logger =
				options.logger ?? (pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) as unknown as FastifyBaseLogger);
			// The client the server itself uses: a request never waits on Redis.
			redis = createApiRedis(config.redisUrl, { commandTimeoutMs: config.redisCommandTimeoutMs });
			// Fault tests stop Redis on purpose; a refused reconnect is expected, not worth a warning.
			redis.on("error", () => {});
			await bootstrapOperator(database.db, TEST_OPERATOR, logger);
			const platform = await createPlatform({ config, database, redis, logger, backgroundTasks: false });
			await platform.start();
			await platform.app.ready();
			this.running = { platform, database, redis, config, dropDatabase: testDb.drop };
		} catch (error) {
			// A start that fails must not leave its database, pool or connection behind.
			redis?.disconnect();
			await database?.close().catch(() => undefined);
			await testDb.drop().catch(() => undefined);
			throw error;
		}
	}

	private get state(): Running {
		if (!this.running) {
			throw new Error(
				"the test platform is not running: useTestPlatform starts it in beforeAll, so use it inside tests and hooks, not while the file loads",
			);
		}
		return this.running;
	}

	get platform(): Platform {
		return this.state.platform;
	}

	get database(): DatabaseHandle {
		return this.state.database;
	}

	get redis(): Redis {
		return this.state.redis;
	}

	get config(): ServerConfig {
		return this.state.config;
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

	/** Stops the platform and drops its database and Redis keys; does nothing if it is not running. */
	async close(): Promise<void> {
		const running = this.running;
		if (!running) return;
		this.running = undefined;
		this.operatorTokenCache = undefined;
		await running.platform.close();
		const keys = await running.redis.keys(`${running.config.redisPrefix}*`);
		if (keys.length > 0) await running.redis.del(...keys);
		running.redis.disconnect();
		await running.database.close();
		await running.dropDatabase();
	}
}

export interface UseTestPlatformOptions extends TestPlatformOptions {
	/** The file's own set-up, run in the same beforeAll once the platform runs. */
	setup?: (t: TestPlatform) => Promise<void> | void;
	/** The file's own tear-down, run in the same afterAll before the platform closes. */
	beforeClose?: () => Promise<void> | void;
	/** The beforeAll's timeout, where the configured hookTimeout is not the one wanted. */
	hookTimeout?: number;
}

/**
 * One platform for every test of the file (or of the describe block it is called in): started,
 * then `setup` run, in a beforeAll; `beforeClose` run, then the platform closed, in an afterAll,
 * which also runs when the start or the set-up failed half-way. The platform returned is usable
 * inside tests and hooks; read while the file loads, it throws.
 *
 *     const t = useTestPlatform({ env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "40" } });
 *     it("lists tenants", async () => {
 *         const res = await t.request("GET", "/v1/tenants", { token: await t.operatorToken() });
 *         expect(res.status).toBe(200);
 *     });
 */
export function useTestPlatform(options: UseTestPlatformOptions = {}): TestPlatform {
	const { setup, beforeClose, hookTimeout, ...startOptions } = options;
	const t = new TestPlatform();
	beforeAll(async () => {
		await t.open(startOptions);
		await setup?.(t);
	}, hookTimeout);
	afterAll(async () => {
		try {
			await beforeClose?.();
		} finally {
			await t.close();
		}
	});
	return t;
}
