import { randomBytes } from "node:crypto";
import { idempotencyRecords, tenants } from "@igoudar/db";
import { IDEMPOTENCY_RETENTION_MS, purgeExpiredIdempotencyKeys, requestFingerprint } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { bootstrapOperator } from "../src/app/bootstrap";
import { expectProblem, uniqueName } from "./support";

let operator: string;

const t = useTestPlatform({
	setup: async (t) => {
		operator = await t.operatorToken();
	},
});

const newKey = () => `key-${randomBytes(8).toString("hex")}`;

function createTenant(body: Record<string, unknown>, key: string, token = operator) {
	return t.request<{ id: string; name: string; code?: string }>("POST", "/v1/tenants", {
		token,
		body,
		headers: { "idempotency-key": key },
	});
}

async function tenantsNamed(name: string): Promise<number> {
	return (await t.db.select({ id: tenants.id }).from(tenants).where(eq(tenants.name, name))).length;
}

describe("Idempotency-Key on POST", () => {
	it("creates exactly one tenant from 20 parallel identical requests with one key", async () => {
		const key = newKey();
		const body = { name: uniqueName("par"), display_name: "Parallel" };
		const answers = await Promise.all(Array.from({ length: 20 }, () => createTenant(body, key)));

		expect(await tenantsNamed(body.name)).toBe(1);
		const created = answers.filter((a) => a.status === 201);
		const inFlight = answers.filter((a) => a.status === 409);
		expect(created.length + inFlight.length).toBe(answers.length);
		// In flight means the idempotency lock, never the name conflict of a second execution.
		for (const a of inFlight) expectProblem(a, 409, "idempotency_key_in_use");
		expect(created.length).toBeGreaterThanOrEqual(1);
		expect(new Set(created.map((a) => a.body.id)).size).toBe(1);
		expect(created.filter((a) => a.headers["idempotent-replayed"] === undefined)).toHaveLength(1);
		for (const a of created.filter((c) => c.headers["idempotent-replayed"] !== undefined)) {
			expect(a.headers["idempotent-replayed"]).toBe("true");
		}

		// Once the first finished, a retry replays it: same status, same body, flagged.
		const first = created.find((a) => a.headers["idempotent-replayed"] === undefined);
		const replay = await createTenant(body, key);
		expect(replay.status).toBe(201);
		expect(replay.body).toEqual(first?.body);
		expect(replay.headers["idempotent-replayed"]).toBe("true");
		expect(String(replay.headers["content-type"])).toMatch(/^application\/json/);
		expect(await tenantsNamed(body.name)).toBe(1);
	});

	it("treats a body with the same fields in another order as the same request", async () => {
		const key = newKey();
		const name = uniqueName("order");
		const first = await t.app.inject({
			method: "POST",
			url: "/v1/tenants",
			headers: { authorization: `Bearer ${operator}`, "idempotency-key": key, "content-type": "application/json" },
			payload: `{"name":"${name}","display_name":"X"}`,
		});
		const second = await t.app.inject({
			method: "POST",
			url: "/v1/tenants",
			headers: { authorization: `Bearer ${operator}`, "idempotency-key": key, "content-type": "application/json" },
			payload: `{"display_name":"X","name":"${name}"}`,
		});
		expect(first.statusCode).toBe(201);
		expect(second.statusCode).toBe(201);
		expect(second.headers["idempotent-replayed"]).toBe("true");
		expect(second.body).toBe(first.body);
	});

	it("refuses the same key with a different body with 422 and creates nothing", async () => {
		const key = newKey();
		const original = await createTenant({ name: uniqueName("orig") }, key);
		expect(original.status).toBe(201);
		const otherName = uniqueName("other");
		const reused = await createTenant({ name: otherName }, key);
		expectProblem(reused, 422, "idempotency_key_reused");
		expect(await tenantsNamed(otherName)).toBe(0);
	});

	it("refuses the same key on another endpoint with 422", async () => {
		const key = newKey();
		const tenant = await createTenant({ name: uniqueName("ep") }, key);
		expect(tenant.status).toBe(201);
		const elsewhere = await t.request("POST", `/v1/tenants/${tenant.body.id}/service-accounts`, {
			token: operator,
			body: { name: uniqueName("ep"), role: "viewer" },
			headers: { "idempotency-key": key },
		});
		expectProblem(elsewhere, 422, "idempotency_key_reused");
	});

	it("scopes keys to the principal: another operator with the same key gets its own execution", async () => {
		const second = { clientId: "igc_second_operator", clientSecret: `igs_${randomBytes(24).toString("hex")}` };
		await bootstrapOperator(t.db, second, pino({ level: "silent" }) as unknown as FastifyBaseLogger);
		const secondToken = await t.token(second.clientId, second.clientSecret);

		const key = newKey();
		const body = { name: uniqueName("scoped") };
		const mine = await createTenant(body, key);
		expect(mine.status).toBe(201);
		// Same key, same body: not a replay of the first operator's 201 but a run of its own (name taken).
		const theirs = await createTenant(body, key, secondToken);
		expectProblem(theirs, 409, "conflict");
		expect(theirs.headers["idempotent-replayed"]).toBeUndefined();
		// Same key, different body: no 422, since a key only binds the principal that used it.
		const otherKey = newKey();
		const mineAgain = await createTenant({ name: uniqueName("scoped") }, otherKey);
		const theirOwn = await createTenant({ name: uniqueName("scoped") }, otherKey, secondToken);
		expect([mineAgain.status, theirOwn.status]).toEqual([201, 201]);
		expect(theirOwn.body.id).not.toBe(mineAgain.body.id);
	});

	it("scopes keys between tenants: two tenant admins using one key each create their own account", async () => {
		const [a, b] = await Promise.all([t.createTenant(), t.createTenant()]);
		const [adminA, adminB] = await Promise.all([t.principal(a.id, "admin"), t.principal(b.id, "admin")]);
		const key = newKey();
		const body = { name: "robot", role: "viewer" };
		const [ra, rb] = await Promise.all([
			t.request<{ id: string }>("POST", `/v1/tenants/${a.id}/service-accounts`, {
				token: adminA.token,
				body,
				headers: { "idempotency-key": key },
			}),
			t.request<{ id: string }>("POST", `/v1/tenants/${b.id}/service-accounts`, {
				token: adminB.token,
				body,
				headers: { "idempotency-key": key },
			}),
		]);
		expect([ra.status, rb.status]).toEqual([201, 201]);
		expect(ra.body.id).not.toBe(rb.body.id);
		expect(ra.headers["idempotent-replayed"]).toBeUndefined();
		expect(rb.headers["idempotent-replayed"]).toBeUndefined();
	});

	it("replays a 4xx answer as it was, without running the request again", async () => {
		const name = uniqueName("dup");
		const existing = await createTenant({ name }, newKey());
		expect(existing.status).toBe(201);
		const key = newKey();
		const refused = await createTenant({ name }, key);
		expectProblem(refused, 409, "conflict");

		// Free the name: a re-execution would now succeed, a replay must not.
		expect((await t.request("DELETE", `/v1/tenants/${existing.body.id}`, { token: operator })).status).toBe(204);
		const replay = await createTenant({ name }, key);
		expect(replay.status).toBe(409);
		expect(replay.body).toEqual(refused.body);
		expect(replay.headers["idempotent-replayed"]).toBe("true");
		expect(String(replay.headers["content-type"])).toMatch(/^application\/problem\+json/);
		expect(await tenantsNamed(name)).toBe(0);
	});

	it("stores nothing for a request that failed validation, so the key stays usable", async () => {
		const key = newKey();
		const invalid = await createTenant({ name: "Not A Valid Name" }, key);
		expectProblem(invalid, 400, "validation_failed");
		const valid = await createTenant({ name: uniqueName("after") }, key);
		expect(valid.status).toBe(201);
		expect(valid.headers["idempotent-replayed"]).toBeUndefined();
	});

	it("refuses a key longer than 255 characters (and an empty one) with 400, creating nothing", async () => {
		const name = uniqueName("long");
		expectProblem(await createTenant({ name }, "k".repeat(256)), 400, "validation_failed");
		expect(await tenantsNamed(name)).toBe(0);
		const longest = await createTenant({ name }, "k".repeat(255));
		expect(longest.status).toBe(201);
		expectProblem(await createTenant({ name: uniqueName("empty") }, ""), 400, "validation_failed");
	});

	it("answers 409 in use while a live claim is held, and takes over a claim abandoned by a dead process", async () => {
		const principal = await principalOf(operator);
		const held = newKey();
		const abandoned = newKey();
		const now = Date.now();
		const body = { name: uniqueName("claim") };
		const claim = (key: string, lockedUntil: number) => ({
			principal,
			key,
			method: "POST",
			path: "/v1/tenants",
			requestHash: requestFingerprint("POST", "/v1/tenants", body),
			state: "in_flight" as const,
			lockedUntil: new Date(lockedUntil),
			expiresAt: new Date(now + IDEMPOTENCY_RETENTION_MS),
		});
		await t.db.insert(idempotencyRecords).values([claim(held, now + 60_000), claim(abandoned, now - 1_000)]);

		const busy = await createTenant(body, held);
		expectProblem(busy, 409, "idempotency_key_in_use");
		expect(busy.headers["retry-after"]).toBe("1");
		const takenOver = await createTenant(body, abandoned);
		expect(takenOver.status).toBe(201);
		expect(takenOver.headers["idempotent-replayed"]).toBeUndefined();
	});

	it("purges expired records, after which the key runs afresh", async () => {
		const key = newKey();
		const first = await createTenant({ name: uniqueName("exp") }, key);
		expect(first.status).toBe(201);
		const principal = await principalOf(operator);
		const mine = and(eq(idempotencyRecords.principal, principal), eq(idempotencyRecords.key, key));
		await t.db
			.update(idempotencyRecords)
			.set({ expiresAt: new Date(Date.now() - 1_000) })
			.where(mine);

		expect(await purgeExpiredIdempotencyKeys(t.db)).toBeGreaterThanOrEqual(1);
		expect(await t.db.select().from(idempotencyRecords).where(mine)).toHaveLength(0);
		// Unexpired records survive a purge.
		const live = newKey();
		expect((await createTenant({ name: uniqueName("live") }, live)).status).toBe(201);
		await purgeExpiredIdempotencyKeys(t.db);
		const liveRows = await t.db
			.select()
			.from(idempotencyRecords)
			.where(and(eq(idempotencyRecords.principal, principal), eq(idempotencyRecords.key, live)));
		expect(liveRows).toHaveLength(1);

		// A different body is no longer a reuse: the old record is gone.
		const again = await createTenant({ name: uniqueName("exp") }, key);
		expect(again.status).toBe(201);
		expect(again.body.id).not.toBe(first.body.id);
	});

	it("does not replay an expired record that is still stored (purge has not run yet)", async () => {
		const key = newKey();
		const body = { name: uniqueName("stale") };
		const first = await createTenant(body, key);
		expect(first.status).toBe(201);
		const principal = await principalOf(operator);
		await t.db
			.update(idempotencyRecords)
			.set({ expiresAt: new Date(Date.now() - 1_000) })
			.where(and(eq(idempotencyRecords.principal, principal), eq(idempotencyRecords.key, key)));
		// Executed again: the name is taken, so a real run answers 409 conflict, not a 201 replay.
		const again = await createTenant(body, key);
		expectProblem(again, 409, "conflict");
		expect(again.headers["idempotent-replayed"]).toBeUndefined();
	});
});

/** The principal id idempotency records are keyed by: the token's service account. */
async function principalOf(token: string): Promise<string> {
	const [, payload] = token.split(".");
	return String(JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")).sub);
}
