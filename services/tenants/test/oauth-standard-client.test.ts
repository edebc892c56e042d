import { createServer } from "node:net";
import { TEST_OPERATOR, TestPlatform } from "@igoudar/server/testing";
import * as oidc from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The token route as an OAuth client written by someone else sees it: openid-client discovers
 * it from the RFC 8414 metadata over real HTTP and runs the client-credentials grant with each
 * client authentication method it offers. Its issuer check wants the issuer to be the URL it
 * discovers from, so the server is configured with the address it listens on.
 */
let t: TestPlatform;
let issuer: URL;

/** A free loopback port, known before the server starts so IGOUDAR_ISSUER can name it. */
async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const address = server.address();
	await new Promise<void>((resolve) => server.close(() => resolve()));
	if (address === null || typeof address === "string") throw new Error("no port");
	return address.port;
}

beforeAll(async () => {
	const port = await freePort();
	issuer = new URL(`http://127.0.0.1:${port}`);
	t = await TestPlatform.start({ env: { IGOUDAR_ISSUER: issuer.origin, IGOUDAR_PUBLIC_URL: issuer.origin } });
	await t.app.listen({ port, host: "127.0.0.1" });
});
afterAll(async () => {
	await t?.close();
});

function discover(auth: oidc.ClientAuth): Promise<oidc.Configuration> {
	// Plain HTTP on loopback in this test only: the library refuses it unless told.
	return oidc.discovery(issuer, TEST_OPERATOR.clientId, undefined, auth, {
		algorithm: "oauth2",
		execute: [oidc.allowInsecureRequests],
	});
}

/** A read of the API with the access token, sent by the library as a resource request. */
async function readTenants(config: oidc.Configuration, accessToken: string): Promise<number> {
	const res = await oidc.fetchProtectedResource(config, accessToken, new URL("/v1/tenants", issuer), "GET");
	await res.body?.cancel();
	return res.status;
}

describe("openid-client against the running server", () => {
	it("discovers the token endpoint and its methods from the metadata", async () => {
		const config = await discover(oidc.ClientSecretBasic(TEST_OPERATOR.clientSecret));
		const metadata = config.serverMetadata();
		expect(metadata.issuer).toBe(issuer.origin);
		expect(metadata.token_endpoint).toBe(`${issuer.origin}/v1/auth/token`);
		expect(metadata.token_endpoint_auth_methods_supported).toEqual(["client_secret_basic", "client_secret_post"]);
		expect(metadata.grant_types_supported).toEqual(["client_credentials"]);
	});

	it("gets a token with client_secret_basic and calls the API with it", async () => {
		const config = await discover(oidc.ClientSecretBasic(TEST_OPERATOR.clientSecret));
		const tokens = await oidc.clientCredentialsGrant(config);
		expect(tokens.token_type).toBe("bearer");
		expect(tokens.expiresIn()).toBeGreaterThan(0);
		expect(await readTenants(config, tokens.access_token)).toBe(200);
	});

	it("gets a token with client_secret_post and calls the API with it", async () => {
		const config = await discover(oidc.ClientSecretPost(TEST_OPERATOR.clientSecret));
		const tokens = await oidc.clientCredentialsGrant(config);
		expect(await readTenants(config, tokens.access_token)).toBe(200);
	});

	it("surfaces invalid_client for a wrong secret by either method", async () => {
		const post = await discover(oidc.ClientSecretPost("igs_not-the-secret"));
		const postError = await oidc.clientCredentialsGrant(post).catch((error: unknown) => error);
		expect(postError).toBeInstanceOf(oidc.ResponseBodyError);
		expect(postError).toMatchObject({ error: "invalid_client", status: 401 });

		// With Basic the server must challenge (RFC 6749 5.2); the library reports the challenge,
		// and the challenge names the error.
		const basic = await discover(oidc.ClientSecretBasic("igs_not-the-secret"));
		const basicError = await oidc.clientCredentialsGrant(basic).catch((error: unknown) => error);
		expect(basicError).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
		const challenge = (basicError as oidc.WWWAuthenticateChallengeError).cause[0];
		expect(challenge?.scheme).toBe("basic");
		expect(challenge?.parameters).toMatchObject({ realm: "igoudar", error: "invalid_client" });
		expect((basicError as oidc.WWWAuthenticateChallengeError).status).toBe(401);
	});
});
