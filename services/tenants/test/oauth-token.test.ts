import { randomBytes } from "node:crypto";
import { type InjectResult, TEST_OPERATOR, useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { expectProblem } from "./support";

const PER_CLIENT = 20;
const PROXY = "10.0.0.5";

const t = useTestPlatform({
	env: { IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE: String(PER_CLIENT), IGOUDAR_TRUSTED_PROXIES: PROXY },
});

/** RFC 6749 2.3.1: each half form-urlencoded, then joined and base64-encoded. */
function basic(clientId: string, clientSecret: string): string {
	const encode = (value: string) => encodeURIComponent(value).replaceAll("%20", "+");
	return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}`;
}

function token(options: { body?: Record<string, string>; authorization?: string; from?: string; form?: boolean }) {
	const body = { grant_type: "client_credentials", ...options.body };
	return t.request<Record<string, unknown>>("POST", "/v1/auth/token", {
		remoteAddress: options.from ?? `198.51.100.${1 + Math.floor(Math.random() * 200)}`,
		headers: {
			...(options.authorization ? { authorization: options.authorization } : {}),
			...(options.form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
		},
		body: options.form ? new URLSearchParams(body).toString() : body,
	});
}

/** An RFC 6749 5.2 error that is also one of our problems: the stable code stays. */
function expectOAuthError(res: InjectResult<Record<string, unknown>>, status: number, error: string, code: string) {
	expectProblem(res, status, code);
	expect(res.body.error).toBe(error);
	expect(res.headers["content-type"]).toMatch(/^application\/json/);
	expect(res.headers["cache-control"]).toBe("no-store");
	if (res.body.detail !== undefined) expect(res.body.error_description).toBe(res.body.detail);
}

describe("client_secret_basic", () => {
	it("issues a token for Basic credentials, as JSON or as a form, with a body client_id equal to it", async () => {
		const authorization = basic(TEST_OPERATOR.clientId, TEST_OPERATOR.clientSecret);
		for (const res of [
			await token({ authorization }),
			await token({ authorization, form: true }),
			await token({ authorization, body: { client_id: TEST_OPERATOR.clientId } }),
		]) {
			expect(res.status, JSON.stringify(res.body)).toBe(200);
			const read = await t.request("GET", "/v1/tenants", { token: String(res.body.access_token) });
			expect(read.status).toBe(200);
		}
	});

	it("answers a wrong secret and an unknown id alike: 401 invalid_client with a Basic challenge", async () => {
		const wrong = await token({
			authorization: basic(TEST_OPERATOR.clientId, "igs_not-the-secret"),
			from: "192.0.2.1",
		});
		const unknown = await token({ authorization: basic("igc_nobody", TEST_OPERATOR.clientSecret), from: "192.0.2.1" });
		for (const res of [wrong, unknown]) {
			expectOAuthError(res, 401, "invalid_client", "unauthenticated");
			expect(res.headers["www-authenticate"]).toMatch(/^Basic realm="igoudar"/);
		}
		expect({ ...wrong.body, request_id: undefined }).toEqual({ ...unknown.body, request_id: undefined });
		expect(Object.keys(wrong.headers).sort()).toEqual(Object.keys(unknown.headers).sort());
		// Credentials in the body get the same error, without a challenge: there was no header to answer.
		const post = await token({ body: { client_id: TEST_OPERATOR.clientId, client_secret: "igs_not-the-secret" } });
		expectOAuthError(post, 401, "invalid_client", "unauthenticated");
		expect(post.headers["www-authenticate"]).toBeUndefined();
	});

	it("refuses two methods at once, a mismatching client_id and unreadable Basic with invalid_request", async () => {
		const authorization = basic(TEST_OPERATOR.clientId, TEST_OPERATOR.clientSecret);
		const both = await token({
			authorization,
			body: { client_id: TEST_OPERATOR.clientId, client_secret: TEST_OPERATOR.clientSecret },
		});
		expectOAuthError(both, 400, "invalid_request", "validation_failed");
		const mismatch = await token({ authorization, body: { client_id: "igc_someone-else" } });
		expectOAuthError(mismatch, 400, "invalid_request", "validation_failed");
		for (const header of ["Basic", "Basic not base64!", `Basic ${Buffer.from("no-colon").toString("base64")}`]) {
			expectOAuthError(await token({ authorization: header }), 400, "invalid_request", "validation_failed");
		}
		const nul = basic("igc_a\u0000b", "secret");
		expectOAuthError(await token({ authorization: nul }), 400, "invalid_request", "validation_failed");
	});

	it("refuses another scheme and no credentials at all with invalid_client", async () => {
		const bearer = await token({ authorization: "Bearer abc" });
		expectOAuthError(bearer, 401, "invalid_client", "unauthenticated");
		expect(bearer.headers["www-authenticate"]).toMatch(/^Basic realm="igoudar"/);
		expectOAuthError(await token({}), 401, "invalid_client", "unauthenticated");
	});
});

describe("token errors for OAuth clients", () => {
	it("answers unsupported_grant_type and invalid_request with the problem fields alongside", async () => {
		const grant = await token({
			body: { grant_type: "password", client_id: TEST_OPERATOR.clientId, client_secret: TEST_OPERATOR.clientSecret },
		});
		expectOAuthError(grant, 400, "unsupported_grant_type", "validation_failed");
		const missing = await token({ body: { client_id: TEST_OPERATOR.clientId } });
		expectOAuthError(missing, 400, "invalid_request", "validation_failed");
		expect(missing.body.errors).toEqual([{ field: "body/client_secret", message: "is required" }]);
		const notJson = await t.request<Record<string, unknown>>("POST", "/v1/auth/token", {
			headers: { "content-type": "text/plain" },
			body: "grant_type=client_credentials",
		});
		expectOAuthError(notJson, 415, "invalid_request", "unsupported_media_type");
	});

	it("counts a client id sent by Basic in the same budget as one sent in the body", async () => {
		const clientId = `igc_${randomBytes(8).toString("hex")}`;
		const seen: number[] = [];
		for (let i = 0; i < PER_CLIENT; i++) {
			const authorization = i % 2 === 0 ? basic(clientId, "wrong") : undefined;
			const body = authorization ? undefined : { client_id: clientId, client_secret: "wrong" };
			seen.push((await token({ authorization, body, from: `198.18.1.${i + 1}` })).status);
		}
		expect(seen).toEqual(Array.from({ length: PER_CLIENT }, () => 401));
		const refused = await token({ authorization: basic(clientId, "wrong"), from: "198.18.1.99" });
		expectOAuthError(refused, 429, "rate_limited", "rate_limited");
		expect(String(refused.body.detail)).toContain("client id");
		expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
	});
});

describe("RFC 8414 metadata", () => {
	it("is public and names the issuer, endpoints, grant and client authentication methods", async () => {
		const res = await t.request<Record<string, unknown>>("GET", "/.well-known/oauth-authorization-server", {
			headers: { host: "api.example.test" },
		});
		expect(res.status).toBe(200);
		expect(res.body).toEqual({
			issuer: t.config.kit.issuer,
			token_endpoint: "http://api.example.test/v1/auth/token",
			jwks_uri: "http://api.example.test/.well-known/jwks.json",
			grant_types_supported: ["client_credentials"],
			token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
			response_types_supported: [],
		});
		expect(res.headers["cache-control"]).toBe("no-store");
	});

	it("believes X-Forwarded-Proto and -Host from a trusted proxy only", async () => {
		const headers = { host: "tenants:8080", "x-forwarded-proto": "https", "x-forwarded-host": "cloud.example.test" };
		const viaProxy = await t.request<{ token_endpoint: string }>("GET", "/.well-known/oauth-authorization-server", {
			remoteAddress: PROXY,
			headers,
		});
		expect(viaProxy.body.token_endpoint).toBe("https://cloud.example.test/v1/auth/token");
		const direct = await t.request<{ token_endpoint: string }>("GET", "/.well-known/oauth-authorization-server", {
			remoteAddress: "203.0.113.9",
			headers,
		});
		expect(direct.body.token_endpoint).toBe("http://tenants:8080/v1/auth/token");
	});
});
