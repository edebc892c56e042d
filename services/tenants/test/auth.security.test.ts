import { TEST_OPERATOR, useTestPlatform } from "@igoudar/server/testing";
import { base64url, decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { type ActiveKey, activeSigningKey, expectProblem, mintToken, testOperatorAccount, uniqueName } from "./support";

let operatorAccountId: string;
let serverKey: ActiveKey;
// Any protected read works; this one answers 200 to an operator with no setup.
const PROTECTED = "/v1/tenants";

const t = useTestPlatform({
	setup: async (t) => {
		operatorAccountId = (await testOperatorAccount(t)).id;
		serverKey = await activeSigningKey(t);
	},
});

function tokenRequest(body: unknown, headers: Record<string, string> = {}) {
	return t.request<{ access_token: string; token_type: string; expires_in: number }>("POST", "/v1/auth/token", {
		body,
		headers,
	});
}

describe("token endpoint", () => {
	it("issues an EdDSA bearer token for a JSON client-credentials grant", async () => {
		const res = await tokenRequest({
			grant_type: "client_credentials",
			client_id: TEST_OPERATOR.clientId,
			client_secret: TEST_OPERATOR.clientSecret,
		});
		expect(res.status).toBe(200);
		expect(res.body.token_type).toBe("Bearer");
		expect(res.body.expires_in).toBe(t.config.kit.tokenTtlSeconds);
		expect(res.headers["cache-control"]).toBe("no-store");
		const header = decodeProtectedHeader(res.body.access_token);
		expect(header).toMatchObject({ alg: "EdDSA", kid: serverKey.kid });
		expect((await t.request("GET", PROTECTED, { token: res.body.access_token })).status).toBe(200);
	});

	it("accepts the same grant as application/x-www-form-urlencoded", async () => {
		const form = new URLSearchParams({
			grant_type: "client_credentials",
			client_id: TEST_OPERATOR.clientId,
			client_secret: TEST_OPERATOR.clientSecret,
		}).toString();
		const res = await tokenRequest(form, { "content-type": "application/x-www-form-urlencoded" });
		expect(res.status).toBe(200);
		expect((await t.request("GET", PROTECTED, { token: res.body.access_token })).status).toBe(200);
	});

	it("answers an unknown client id and a wrong secret identically", async () => {
		const wrongSecret = await tokenRequest({
			grant_type: "client_credentials",
			client_id: TEST_OPERATOR.clientId,
			client_secret: "igs_not-the-secret",
		});
		const unknownId = await tokenRequest({
			grant_type: "client_credentials",
			client_id: "igc_nobody",
			client_secret: TEST_OPERATOR.clientSecret,
		});
		const a = expectProblem(wrongSecret, 401, "unauthenticated");
		const b = expectProblem(unknownId, 401, "unauthenticated");
		// Only the request id may differ: anything else tells an attacker which client ids exist.
		expect({ ...a, request_id: undefined }).toEqual({ ...b, request_id: undefined });
		expect(Object.keys(wrongSecret.headers).sort()).toEqual(Object.keys(unknownId.headers).sort());
	});

	it("refuses other grant types and missing fields with 400", async () => {
		const wrongGrant = await tokenRequest({
			grant_type: "password",
			client_id: TEST_OPERATOR.clientId,
			client_secret: TEST_OPERATOR.clientSecret,
		});
		expectProblem(wrongGrant, 400, "validation_failed");
		const missing = await tokenRequest({ grant_type: "client_credentials", client_id: TEST_OPERATOR.clientId });
		expectProblem(missing, 400, "validation_failed");
	});
});

describe("bearer tokens the API must refuse", () => {
	it("accepts a token minted with the real key and valid claims (so the refusals below are about the flaw)", async () => {
		const token = await mintToken(t, serverKey, { sub: operatorAccountId });
		expect((await t.request("GET", PROTECTED, { token })).status).toBe(200);
	});

	it("refuses alg none", async () => {
		const now = Math.floor(Date.now() / 1000);
		const token = new UnsecuredJWT({ tenant_id: null, role: "operator" })
			.setIssuer(t.config.kit.issuer)
			.setAudience(t.config.kit.audience)
			.setSubject(operatorAccountId)
			.setIssuedAt(now)
			.setExpirationTime(now + 300)
			.setJti("none-1")
			.encode();
		expectProblem(await t.request("GET", PROTECTED, { token }), 401, "unauthenticated");
		// The same with an empty signature part stripped, as some parsers accept that too.
		expectProblem(await t.request("GET", PROTECTED, { token: token.slice(0, -1) }), 401, "unauthenticated");
	});

	it("refuses HS256 keyed with the published public key (algorithm confusion)", async () => {
		const jwks = await t.request<{ keys: { kid: string; x: string }[] }>("GET", "/.well-known/jwks.json");
		const published = jwks.body.keys.find((k) => k.kid === serverKey.kid);
		if (!published) throw new Error("active key missing from the JWKS");
		// A confused verifier might use either the encoded `x` or its raw bytes as the HMAC secret.
		const secrets = [new TextEncoder().encode(published.x), base64url.decode(published.x)];
		for (const secret of secrets) {
			const now = Math.floor(Date.now() / 1000);
			const token = await new SignJWT({ tenant_id: null, role: "operator" })
				.setProtectedHeader({ alg: "HS256", kid: serverKey.kid })
				.setIssuer(t.config.kit.issuer)
				.setAudience(t.config.kit.audience)
				.setSubject(operatorAccountId)
				.setIssuedAt(now)
				.setExpirationTime(now + 300)
				.setJti("hs256")
				.sign(secret);
			expectProblem(await t.request("GET", PROTECTED, { token }), 401, "unauthenticated");
		}
	});

	it("refuses a token signed by another Ed25519 key that claims the server's kid", async () => {
		const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
		const token = await mintToken(t, { kid: serverKey.kid, key: privateKey }, { sub: operatorAccountId });
		expectProblem(await t.request("GET", PROTECTED, { token }), 401, "unauthenticated");
	});

	it("refuses a token whose kid the server never published", async () => {
		const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
		const token = await mintToken(t, { kid: "made-up-kid", key: privateKey }, { sub: operatorAccountId });
		expectProblem(await t.request("GET", PROTECTED, { token }), 401, "unauthenticated");
	});

	it("refuses expired, wrong-audience, wrong-issuer, wrong-type and claim-less tokens signed with the real key", async () => {
		const now = Math.floor(Date.now() / 1000);
		const cases = {
			expired: await mintToken(t, serverKey, { sub: operatorAccountId, iat: now - 3600, exp: now - 60 }),
			wrongAudience: await mintToken(t, serverKey, { sub: operatorAccountId, aud: "someone-else" }),
			wrongIssuer: await mintToken(t, serverKey, { sub: operatorAccountId, iss: "https://evil.example" }),
			noSubject: await mintToken(t, serverKey, {}),
			noJti: await mintToken(t, serverKey, { sub: operatorAccountId, jti: null }),
			unknownSubject: await mintToken(t, serverKey, { sub: "019a0000-0000-7000-8000-000000000000" }),
			// Another kind of JWT from the same issuer (an ID token, say) is not an access token.
			plainJwtType: await mintToken(t, serverKey, { sub: operatorAccountId, typ: "JWT" }),
			noType: await mintToken(t, serverKey, { sub: operatorAccountId, typ: null }),
			notYetIssued: await mintToken(t, serverKey, { sub: operatorAccountId, iat: now + 3600, exp: now + 7200 }),
			// Still unexpired, but older than any token the issuer hands out.
			outlivedTtl: await mintToken(t, serverKey, {
				sub: operatorAccountId,
				iat: now - t.config.kit.tokenTtlSeconds - 60,
				exp: now + 3600,
			}),
		};
		for (const [name, token] of Object.entries(cases)) {
			const res = await t.request("GET", PROTECTED, { token });
			expect(res.status, name).toBe(401);
			expectProblem(res, 401, "unauthenticated");
		}
	});

	it("refuses garbage, a missing header and other schemes", async () => {
		const valid = await t.operatorToken();
		const headers: Record<string, string>[] = [
			{},
			{ authorization: "Bearer garbage" },
			{ authorization: "Bearer a.b.c" },
			{ authorization: "Bearer " },
			{
				authorization: `Basic ${Buffer.from(`${TEST_OPERATOR.clientId}:${TEST_OPERATOR.clientSecret}`).toString("base64")}`,
			},
			// A valid token with one flipped signature character.
			{ authorization: `Bearer ${valid.slice(0, -2)}${valid.at(-2) === "A" ? "B" : "A"}${valid.at(-1)}` },
		];
		for (const h of headers) {
			expectProblem(await t.request("GET", PROTECTED, { headers: h }), 401, "unauthenticated");
		}
	});
});

describe("account state is re-checked on every request", () => {
	it("refuses a revoked service account's existing token at once", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const doomed = await t.principal(tenant.id, "viewer");
		expect((await t.request("GET", `/v1/tenants/${tenant.id}`, { token: doomed.token })).status).toBe(200);

		const revoked = await t.request("DELETE", `/v1/tenants/${tenant.id}/service-accounts/${doomed.id}`, {
			token: admin.token,
		});
		expect(revoked.status).toBe(204);
		expectProblem(await t.request("GET", `/v1/tenants/${tenant.id}`, { token: doomed.token }), 401, "unauthenticated");
		// Nor can it mint a new one.
		const retry = await tokenRequest({
			grant_type: "client_credentials",
			client_id: doomed.clientId,
			client_secret: doomed.clientSecret,
		});
		expectProblem(retry, 401, "unauthenticated");
		// The admin that revoked it is untouched.
		expect((await t.request("GET", `/v1/tenants/${tenant.id}`, { token: admin.token })).status).toBe(200);
	});

	it("lets a suspended tenant's tokens read but refuses every write with 403, until reactivated", async () => {
		const operator = await t.operatorToken();
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const suspend = await t.request("PATCH", `/v1/tenants/${tenant.id}`, {
			token: operator,
			body: { status: "suspended" },
		});
		expect(suspend.status).toBe(200);

		expect((await t.request("GET", `/v1/tenants/${tenant.id}`, { token: admin.token })).status).toBe(200);
		expect((await t.request("GET", `/v1/tenants/${tenant.id}/quotas`, { token: admin.token })).status).toBe(200);
		const create = await t.request("POST", `/v1/tenants/${tenant.id}/service-accounts`, {
			token: admin.token,
			body: { name: uniqueName("sa"), role: "viewer" },
		});
		expectProblem(create, 403, "forbidden");
		const revoke = await t.request("DELETE", `/v1/tenants/${tenant.id}/service-accounts/${admin.id}`, {
			token: admin.token,
		});
		expectProblem(revoke, 403, "forbidden");

		await t.request("PATCH", `/v1/tenants/${tenant.id}`, { token: operator, body: { status: "active" } });
		const after = await t.request("POST", `/v1/tenants/${tenant.id}/service-accounts`, {
			token: admin.token,
			body: { name: uniqueName("sa"), role: "viewer" },
		});
		expect(after.status).toBe(201);
	});

	it("refuses the tokens of a deleted tenant's accounts", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const deleted = await t.request("DELETE", `/v1/tenants/${tenant.id}`, { token: await t.operatorToken() });
		expect(deleted.status).toBe(204);
		expectProblem(await t.request("GET", "/v1/tenants", { token: admin.token }), 401, "unauthenticated");
	});
});
