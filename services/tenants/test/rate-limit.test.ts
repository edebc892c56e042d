import { TEST_OPERATOR, useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";

const t = useTestPlatform({
	env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "6", IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE: "3" },
});

const tokenBody = (secret: string) => ({
	grant_type: "client_credentials",
	client_id: TEST_OPERATOR.clientId,
	client_secret: secret,
});

/** Ends the current window for every counter, as a minute passing would. */
async function resetWindows(): Promise<number> {
	const keys = await t.redis.keys(`${t.config.redisPrefix}:ratelimit:*`);
	if (keys.length > 0) await t.redis.del(...keys);
	return keys.length;
}

describe("rate limits, counted in Redis", () => {
	it("refuses the token endpoint past its budget with 429 rate_limited and Retry-After", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) {
			const res = await t.request("POST", "/v1/auth/token", { body: tokenBody("wrong-secret") });
			statuses.push(res.status);
			if (res.status === 429) {
				expect(res.body).toMatchObject({ error: "rate_limited", code: "rate_limited", status: 429 });
				expect(res.headers["content-type"]).toContain("application/json");
				expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
			}
		}
		expect(statuses).toEqual([401, 401, 401, 429]);
	});

	it("limits each principal on its own, never the health endpoints, and never burns an Idempotency-Key", async () => {
		await resetWindows();
		const a = await t.createTenant();
		const b = await t.createTenant();
		const viewerA = await t.principal(a.id, "admin");
		const viewerB = await t.principal(b.id, "admin");
		const seen: number[] = [];
		for (let i = 0; i < 7; i++) {
			seen.push((await t.request("GET", `/v1/tenants/${a.id}/quotas`, { token: viewerA.token })).status);
		}
		expect(seen).toEqual([200, 200, 200, 200, 200, 200, 429]);
		// A write with a key, refused by the limit, must not have claimed the key.
		const refused = await t.request("POST", `/v1/tenants/${a.id}/service-accounts`, {
			token: viewerA.token,
			headers: { "idempotency-key": "limited-once" },
			body: { name: "ci", role: "viewer" },
		});
		expect(refused.status).toBe(429);
		expect((await t.request("GET", `/v1/tenants/${b.id}/quotas`, { token: viewerB.token })).status).toBe(200);
		for (let i = 0; i < 10; i++) expect((await t.request("GET", "/healthz")).status).toBe(200);

		// Once the window has passed, the same key executes for the first time.
		expect(await resetWindows()).toBeGreaterThan(0);
		const accepted = await t.request("POST", `/v1/tenants/${a.id}/service-accounts`, {
			token: viewerA.token,
			headers: { "idempotency-key": "limited-once" },
			body: { name: "ci", role: "viewer" },
		});
		expect(accepted.status).toBe(201);
		expect(accepted.headers["idempotent-replayed"]).toBeUndefined();
	});

	it("keeps counting in Redis after Redis forgets the counting script (restart, SCRIPT FLUSH)", async () => {
		await resetWindows();
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		expect((await t.request("GET", `/v1/tenants/${tenant.id}/quotas`, { token: admin.token })).status).toBe(200);
		await t.redis.script("FLUSH");
		const seen: number[] = [];
		for (let i = 0; i < 6; i++) {
			seen.push((await t.request("GET", `/v1/tenants/${tenant.id}/quotas`, { token: admin.token })).status);
		}
		// Six allowed per window: the counter in Redis carried on across the flush.
		expect(seen).toEqual([200, 200, 200, 200, 200, 429]);
		expect(await resetWindows()).toBeGreaterThan(0);
	});
});
