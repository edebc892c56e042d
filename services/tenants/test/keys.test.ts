import { signingKeys } from "@igoudar/db";
import { createAuthenticator } from "@igoudar/kit";
import { TEST_OPERATOR, useTestPlatform } from "@igoudar/server/testing";
import { eq, inArray } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { createKeySealer } from "../src/app/key-sealing";
import { type KeyPolicy, maintainSigningKeys, TokenSigner } from "../src/app/signing-keys";
import { testOperatorAccount } from "./support";

let operatorId: string;

const t = useTestPlatform({
	setup: async (t) => {
		operatorId = (await testOperatorAccount(t)).id;
	},
});

const HOUR = 3_600_000;
const TOKEN_TTL_MS = 15 * 60_000;
// Rotation is due an hour after activation, once the successor has been published for 10 minutes.
const policy: KeyPolicy = { rotateAfterMs: HOUR, publishLeadMs: 10 * 60_000, tokenTtlMs: TOKEN_TTL_MS };

async function keyStates(): Promise<Record<string, string>> {
	const rows = await t.db.select({ kid: signingKeys.kid, state: signingKeys.state }).from(signingKeys);
	return Object.fromEntries(rows.map((r) => [r.kid, r.state]));
}

async function jwksKids(): Promise<string[]> {
	const res = await t.request<{ keys: Record<string, unknown>[] }>("GET", "/.well-known/jwks.json");
	expect(res.status).toBe(200);
	return res.body.keys.map((k) => String(k.kid));
}

function kidOf(state: Record<string, string>, wanted: string): string {
	const kid = Object.entries(state).find(([, s]) => s === wanted)?.[0];
	if (!kid) throw new Error(`no ${wanted} key in ${JSON.stringify(state)}`);
	return kid;
}

/** A signer with no cache from earlier tests: it reads whichever key is active now. */
function freshSigner(): TokenSigner {
	return new TokenSigner(t.db, { issuer: t.config.kit.issuer, audience: t.config.kit.audience, ttlSeconds: 900 });
}

const mint = (signer: TokenSigner) =>
	signer.sign({ sub: operatorId, tenant_id: null, role: "operator", client_id: TEST_OPERATOR.clientId });

describe("JWKS", () => {
	it("publishes only public key material, with kid, alg and use", async () => {
		const res = await t.request<{ keys: Record<string, unknown>[] }>("GET", "/.well-known/jwks.json");
		expect(res.body.keys.length).toBeGreaterThanOrEqual(2);
		for (const key of res.body.keys) {
			expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
			expect(typeof key.x).toBe("string");
			expect(key).not.toHaveProperty("d");
		}
		expect(JSON.stringify(res.body)).not.toMatch(/"d"/);
	});
});

describe("signing key rotation", () => {
	it("publishes the next key before it signs anything", async () => {
		const states = await keyStates();
		expect(Object.values(states).sort()).toEqual(["active", "next"]);
		const active = kidOf(states, "active");
		const next = kidOf(states, "next");
		expect(await jwksKids()).toEqual(expect.arrayContaining([active, next]));
		const token = await t.operatorToken();
		expect(decodeProtectedHeader(token).kid).toBe(active);
		expect(decodeProtectedHeader((await mint(freshSigner())).token).kid).toBe(active);
	});

	it("does not rotate before the active key is due", async () => {
		const before = await keyStates();
		const { rotated } = await maintainSigningKeys(t.db, policy, new Date(Date.now() + HOUR / 2));
		expect(rotated).toBe(false);
		expect(await keyStates()).toEqual(before);
	});

	it("rotates next -> active -> retired; old tokens keep verifying while the retired key is published", async () => {
		const before = await keyStates();
		const oldKid = kidOf(before, "active");
		const successor = kidOf(before, "next");
		const oldToken = (await mint(freshSigner())).token;
		expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid);

		const rotationAt = new Date(Date.now() + HOUR + 60_000);
		expect((await maintainSigningKeys(t.db, policy, rotationAt)).rotated).toBe(true);

		const after = await keyStates();
		expect(after[oldKid]).toBe("retired");
		expect(after[successor]).toBe("active");
		const newNext = kidOf(after, "next");
		expect([oldKid, successor]).not.toContain(newNext);
		// Retired keys stay published until every token they signed has expired.
		const [retired] = await t.db.select().from(signingKeys).where(eq(signingKeys.kid, oldKid));
		expect(retired?.expiresAt?.getTime()).toBeGreaterThanOrEqual(rotationAt.getTime() + TOKEN_TTL_MS);
		expect(await jwksKids()).toEqual(expect.arrayContaining([oldKid, successor, newNext]));

		expect((await t.request("GET", "/v1/tenants", { token: oldToken })).status).toBe(200);
		// New tokens come from the successor, which every verifier has had since it was `next`.
		const newToken = (await mint(freshSigner())).token;
		expect(decodeProtectedHeader(newToken).kid).toBe(successor);
		expect((await t.request("GET", "/v1/tenants", { token: newToken })).status).toBe(200);
	});

	it("stops publishing a retired key after expires_at, and a verifier no longer trusts it", async () => {
		const [retired] = await t.db.select().from(signingKeys).where(eq(signingKeys.state, "retired"));
		if (!retired?.expiresAt) throw new Error("the rotation test left no retired key");
		expect(await jwksKids()).toContain(retired.kid);
		// Past its expiry the key leaves the JWKS even before maintenance deletes the row...
		await t.db
			.update(signingKeys)
			.set({ expiresAt: new Date(Date.now() - 1_000) })
			.where(eq(signingKeys.kid, retired.kid));
		expect(await jwksKids()).not.toContain(retired.kid);
		// ...and maintenance removes it.
		await maintainSigningKeys(t.db, policy);
		expect(await keyStates()).not.toHaveProperty(retired.kid);
		const states = Object.values(await keyStates()).sort();
		expect(states).toEqual(["active", "next"]);
	});

	it("refuses, in a fresh verifier, a token whose key is no longer published", async () => {
		const active = kidOf(await keyStates(), "active");
		const token = (await mint(freshSigner())).token;
		expect(decodeProtectedHeader(token).kid).toBe(active);
		const verifier = createAuthenticator(t.db, { issuer: t.config.kit.issuer, audience: t.config.kit.audience });
		await expect(verifier.authenticate(`Bearer ${token}`)).resolves.toMatchObject({ id: operatorId });

		// Two rotations two hours apart: the second finds the first's retired key expired and drops it.
		const far = Date.now() + 10 * HOUR;
		await maintainSigningKeys(t.db, policy, new Date(far));
		await maintainSigningKeys(t.db, policy, new Date(far + 2 * HOUR));
		expect(await keyStates()).not.toHaveProperty(active);
		const later = createAuthenticator(t.db, { issuer: t.config.kit.issuer, audience: t.config.kit.audience });
		await expect(later.authenticate(`Bearer ${token}`)).rejects.toMatchObject({ code: "unauthenticated" });
	});

	it("leaves exactly one active and one next key after concurrent maintenance from an empty key set", async () => {
		await t.db.delete(signingKeys);
		const results = await Promise.all(Array.from({ length: 5 }, () => maintainSigningKeys(t.db, policy)));
		expect(results.every((r) => r.rotated === false)).toBe(true);
		expect(Object.values(await keyStates()).sort()).toEqual(["active", "next"]);
	});

	it("rotates exactly once when concurrent maintenance calls all find rotation due", async () => {
		const before = await keyStates();
		const due = new Date(Date.now() + 100 * HOUR);
		const results = await Promise.all(Array.from({ length: 5 }, () => maintainSigningKeys(t.db, policy, due)));
		expect(results.filter((r) => r.rotated)).toHaveLength(1);
		const after = await keyStates();
		expect(Object.values(after).sort()).toEqual(["active", "next", "retired"]);
		expect(after[kidOf(before, "active")]).toBe("retired");
		expect(after[kidOf(before, "next")]).toBe("active");
	});
});

describe("signing keys sealed at rest", () => {
	it("stores no private key material in clear and still signs tokens every service accepts", async () => {
		const secret = "a-long-enough-key-encryption-secret-0123456789";
		const sealer = createKeySealer(secret);
		const sealedPolicy: KeyPolicy = { rotateAfterMs: 0, publishLeadMs: 0, tokenTtlMs: 900_000, sealer };
		// Rotate twice so the active and next keys are both ones created with the sealer.
		await maintainSigningKeys(t.db, sealedPolicy, new Date(Date.now() + 10 * 24 * HOUR));
		await maintainSigningKeys(t.db, sealedPolicy, new Date(Date.now() + 20 * 24 * HOUR));
		const rows = await t.db
			.select()
			.from(signingKeys)
			.where(inArray(signingKeys.state, ["active", "next"]));
		expect(rows).toHaveLength(2);
		for (const row of rows) {
			expect(row.privateJwk).toMatchObject({ sealed: "A256GCM" });
			expect(JSON.stringify(row.privateJwk)).not.toContain('"d"');
		}

		const signer = new TokenSigner(t.db, {
			issuer: t.config.kit.issuer,
			audience: t.config.kit.audience,
			ttlSeconds: 900,
			sealer,
		});
		const { token } = await signer.sign({
			sub: operatorId,
			tenant_id: null,
			role: "operator",
			client_id: TEST_OPERATOR.clientId,
		});
		// This policy publishes with no lead time: let the verifier's JWKS cache pass its refresh floor.
		await new Promise((resolve) => setTimeout(resolve, 1_100));
		expect((await t.request("GET", "/v1/tenants", { token })).status).toBe(200);

		const withoutSecret = new TokenSigner(t.db, {
			issuer: t.config.kit.issuer,
			audience: t.config.kit.audience,
			ttlSeconds: 900,
		});
		await expect(
			withoutSecret.sign({ sub: operatorId, tenant_id: null, role: "operator", client_id: "x" }),
		).rejects.toThrow(/IGOUDAR_KEY_ENCRYPTION_SECRET/);
		const wrongSecret = new TokenSigner(t.db, {
			issuer: t.config.kit.issuer,
			audience: t.config.kit.audience,
			ttlSeconds: 900,
			sealer: createKeySealer("another-secret-that-is-also-long-enough-000"),
		});
		await expect(
			wrongSecret.sign({ sub: operatorId, tenant_id: null, role: "operator", client_id: "x" }),
		).rejects.toThrow();
		expect(() => createKeySealer("short")).toThrow(/at least 32/);
	});
});
