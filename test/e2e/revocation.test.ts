import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@igoudar/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonCall } from "../support/json-call";
import { type PrivateRedis, startPrivateRedis } from "../support/redis-server";
import { type ServerProcess, startServerProcess } from "../support/server-process";

/**
 * Api processes keep a caller's account and tenant status in memory, so revocation and
 * suspension must still reach every replica. Real processes on one Postgres and one redis-server
 * of the test's own:
 * - `issuer` (target all) issues tokens, revokes and suspends;
 * - `notified` (target compute) keeps principals for 60 s, so only the Redis notice can make it
 *   forget one in time;
 * - `fallback` (target compute) keeps them for the default 1 s, the bound when a notice is lost,
 *   which the last case makes happen by freezing Redis (SIGSTOP: connections stay open, nothing
 *   is delivered).
 */

const operator = { clientId: "igc_revocation_operator", clientSecret: "igs_revocation-operator-secret-0123" };
/** The default cache lifetime: the stated bound on a replica that missed the notice. */
const BOUND_MS = 1_000;
/** Far longer than any wait below: a refusal seen on `notified` came from the notice. */
const LONG_CACHE_MS = 60_000;

let database: TestDatabase;
let redis: PrivateRedis;
let issuer: ServerProcess;
let notified: ServerProcess;
let fallback: ServerProcess;

async function call(
	base: string,
	method: string,
	path: string,
	token?: string,
	body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
	const res = await jsonCall(base, method, path, { token, body });
	return { status: res.status, body: res.body ?? {} };
}

async function token(clientId: string, clientSecret: string): Promise<string> {
	const res = await call(issuer.url, "POST", "/v1/auth/token", undefined, {
		grant_type: "client_credentials",
		client_id: clientId,
		client_secret: clientSecret,
	});
	expect(res.status).toBe(200);
	return String(res.body.access_token);
}

/** A tenant with a member account: its id, the account's id and a token. */
async function member(): Promise<{ tenantId: string; accountId: string; token: string }> {
	const ops = await token(operator.clientId, operator.clientSecret);
	const tenant = await call(issuer.url, "POST", "/v1/tenants", ops, { name: `rv-${randomBytes(4).toString("hex")}` });
	expect(tenant.status).toBe(201);
	const tenantId = String(tenant.body.id);
	const account = await call(issuer.url, "POST", `/v1/tenants/${tenantId}/service-accounts`, ops, {
		name: "poller",
		role: "member",
	});
	expect(account.status).toBe(201);
	return {
		tenantId,
		accountId: String(account.body.id),
		token: await token(String(account.body.client_id), String(account.body.client_secret)),
	};
}

const listPath = (tenantId: string) => `/v1/tenants/${tenantId}/instances`;
/** A write that reaches the suspension check and then fails on its own (no such flavor). */
const writeAttempt = (base: string, tenantId: string, bearer: string) =>
	call(base, "POST", listPath(tenantId), bearer, { name: "probe", flavor: "no-such-flavor" });

/** Polls until `refused` holds, every 20 ms for at most `withinMs`; returns how long it took. */
async function refusedWithin(withinMs: number, refused: () => Promise<boolean>): Promise<number> {
	const started = Date.now();
	while (!(await refused())) {
		if (Date.now() - started > withinMs) throw new Error(`still accepted after ${withinMs} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	return Date.now() - started;
}

beforeAll(async () => {
	database = await createTestDatabase();
	redis = await startPrivateRedis();
	const env = {
		DATABASE_URL: database.url,
		REDIS_URL: redis.url,
		IGOUDAR_REDIS_PREFIX: `igrv-${randomBytes(4).toString("hex")}`,
		IGOUDAR_BOOTSTRAP_CLIENT_ID: operator.clientId,
		IGOUDAR_BOOTSTRAP_CLIENT_SECRET: operator.clientSecret,
		IGOUDAR_RATE_LIMIT_PER_MINUTE: "100000",
	};
	issuer = await startServerProcess("all", env);
	[notified, fallback] = await Promise.all([
		startServerProcess("compute", { ...env, IGOUDAR_PRINCIPAL_CACHE_MS: String(LONG_CACHE_MS) }),
		startServerProcess("compute", env),
	]);
}, 180_000);

afterAll(async () => {
	await Promise.all([issuer, notified, fallback].map((server) => server?.stop()));
	await redis?.stop();
	await database?.drop();
});

describe("revocation and suspension across api processes", () => {
	it("a revoked account is refused on the replica that revoked it at once, and on another through the Redis notice", async () => {
		const caller = await member();
		// Both replicas now hold the principal.
		expect((await call(issuer.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(200);
		expect((await call(notified.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(200);

		const ops = await token(operator.clientId, operator.clientSecret);
		const revoked = await call(
			issuer.url,
			"DELETE",
			`/v1/tenants/${caller.tenantId}/service-accounts/${caller.accountId}`,
			ops,
		);
		expect(revoked.status).toBe(204);
		expect((await call(issuer.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(401);
		// Well before its 60 s cache would let go: only the notice explains the refusal.
		const took = await refusedWithin(
			LONG_CACHE_MS / 4,
			async () => (await call(notified.url, "GET", listPath(caller.tenantId), caller.token)).status === 401,
		);
		console.info(`revocation reached the other replica through Redis after ${took} ms`);
	});

	it("a suspended tenant's writes are refused on another replica through the notice, its reads still answer", async () => {
		const caller = await member();
		expect((await writeAttempt(notified.url, caller.tenantId, caller.token)).status).toBe(400);
		const ops = await token(operator.clientId, operator.clientSecret);
		expect(
			(await call(issuer.url, "PATCH", `/v1/tenants/${caller.tenantId}`, ops, { status: "suspended" })).status,
		).toBe(200);
		await refusedWithin(
			LONG_CACHE_MS / 4,
			async () => (await writeAttempt(notified.url, caller.tenantId, caller.token)).status === 403,
		);
		expect((await call(notified.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(200);
	});

	it("with Redis frozen, the notice is lost and the replica refuses once its 1 s cache lets go", async () => {
		const caller = await member();
		const suspended = await member();
		expect((await call(fallback.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(200);
		expect((await writeAttempt(fallback.url, suspended.tenantId, suspended.token)).status).toBe(400);
		const ops = await token(operator.clientId, operator.clientSecret);

		redis.pause();
		try {
			const revoked = await call(
				issuer.url,
				"DELETE",
				`/v1/tenants/${caller.tenantId}/service-accounts/${caller.accountId}`,
				ops,
			);
			expect(revoked.status).toBe(204);
			const suspend = await call(issuer.url, "PATCH", `/v1/tenants/${suspended.tenantId}`, ops, {
				status: "suspended",
			});
			expect(suspend.status).toBe(200);
			// The replica that made the change forgets at once, whatever Redis does.
			expect((await call(issuer.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(401);
			// Whatever the other replica read before the change expires within the bound of it: a
			// request sent after that is refused, with no notice at all.
			await new Promise((resolve) => setTimeout(resolve, BOUND_MS));
			expect((await call(fallback.url, "GET", listPath(caller.tenantId), caller.token)).status).toBe(401);
			expect((await writeAttempt(fallback.url, suspended.tenantId, suspended.token)).status).toBe(403);
		} finally {
			redis.resume();
		}
	});
});
