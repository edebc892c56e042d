import { randomBytes } from "node:crypto";
import { trustedProxiesFromEnv } from "@igoudar/kit";
import { type InjectResult, TEST_OPERATOR, useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { expectProblem } from "./support";

const PER_ADDRESS = 5;
const PER_CLIENT = 3;
const AUTH_FAILURES = 4;
const PROXY = "10.0.0.5";

const t = useTestPlatform({
	env: {
		IGOUDAR_TOKEN_RATE_LIMIT_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS),
		IGOUDAR_TOKEN_RATE_LIMIT_PER_MINUTE: String(PER_CLIENT),
		IGOUDAR_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES),
		IGOUDAR_TRUSTED_PROXIES: `${PROXY}, 10.1.0.0/16`,
	},
});

/** A token request for a client id nobody has: each one costs the server a scrypt hash. */
function guess(from: string, options: { clientId?: string; forwardedFor?: string } = {}) {
	return t.request("POST", "/v1/auth/token", {
		remoteAddress: from,
		headers: options.forwardedFor ? { "x-forwarded-for": options.forwardedFor } : {},
		body: {
			grant_type: "client_credentials",
			client_id: options.clientId ?? `igc_${randomBytes(8).toString("hex")}`,
			client_secret: "not-the-secret",
		},
	});
}

function expectRateLimited(res: InjectResult<unknown>): void {
	expectProblem(res, 429, "rate_limited");
	const retryAfter = Number(res.headers["retry-after"]);
	expect(retryAfter).toBeGreaterThan(0);
	expect(retryAfter).toBeLessThanOrEqual(60);
}

async function statuses(n: number, send: (i: number) => Promise<InjectResult<unknown>>): Promise<number[]> {
	const seen: number[] = [];
	for (let i = 0; i < n; i++) seen.push((await send(i)).status);
	return seen;
}

const unauthorised = (n: number) => Array.from({ length: n }, () => 401);

describe("the token route, per client address", () => {
	it("refuses a flood with a new client id each time once the address's budget is spent", async () => {
		const seen = await statuses(PER_ADDRESS, () => guess("203.0.113.7"));
		expect(seen).toEqual(unauthorised(PER_ADDRESS));
		expectRateLimited(await guess("203.0.113.7"));
		// Even the right credential waits: the budget is the address's, not the id's.
		expectRateLimited(
			await t.request("POST", "/v1/auth/token", {
				remoteAddress: "203.0.113.7",
				body: {
					grant_type: "client_credentials",
					client_id: TEST_OPERATOR.clientId,
					client_secret: TEST_OPERATOR.clientSecret,
				},
			}),
		);
		// Another address has its own budget.
		expect((await guess("203.0.113.8")).status).toBe(401);
	});

	it("counts the peer's address when an untrusted peer sends X-Forwarded-For", async () => {
		const seen = await statuses(PER_ADDRESS, (i) => guess("198.51.100.1", { forwardedFor: `192.0.2.${i + 1}` }));
		expect(seen).toEqual(unauthorised(PER_ADDRESS));
		expectRateLimited(await guess("198.51.100.1", { forwardedFor: "192.0.2.99" }));
		expectRateLimited(await guess("198.51.100.1", { forwardedFor: "192.0.2.100, 192.0.2.101" }));
	});

	it("counts the forwarded client address behind a trusted proxy, and only the hop the proxy saw", async () => {
		const seen = await statuses(PER_ADDRESS, () => guess(PROXY, { forwardedFor: "192.0.2.10" }));
		expect(seen).toEqual(unauthorised(PER_ADDRESS));
		expectRateLimited(await guess(PROXY, { forwardedFor: "192.0.2.10" }));
		// Through another trusted proxy (a CIDR entry) the same client is the same address.
		expectRateLimited(await guess("10.1.2.3", { forwardedFor: "192.0.2.10" }));
		// What the client wrote in front of the proxy's entry is not believed.
		expectRateLimited(await guess(PROXY, { forwardedFor: "192.0.2.77, 192.0.2.10" }));
		// Another client behind the same proxy has a budget of its own.
		expect((await guess(PROXY, { forwardedFor: "192.0.2.11" })).status).toBe(401);
	});
});

describe("the token route, per client id", () => {
	it("limits one client id across addresses, and the address budget comes first", async () => {
		const clientId = `igc_${randomBytes(8).toString("hex")}`;
		const seen = await statuses(PER_CLIENT, (i) => guess(`198.18.0.${i + 1}`, { clientId }));
		expect(seen).toEqual(unauthorised(PER_CLIENT));
		const refused = await guess("198.18.0.50", { clientId });
		expectRateLimited(refused);
		expect((refused.body as { detail: string }).detail).toContain("client id");
	});
});

describe("failed bearer authentications", () => {
	it("are counted per address and answer 429 once over budget; a valid token still works there", async () => {
		const from = "203.0.113.50";
		const read = (token: string, address = from) =>
			t.request("GET", "/v1/tenants", { remoteAddress: address, headers: { authorization: `Bearer ${token}` } });
		const seen = await statuses(AUTH_FAILURES, () => read("not.a.token"));
		expect(seen).toEqual(unauthorised(AUTH_FAILURES));
		expectRateLimited(await read("not.a.token"));
		// No token at all is a failed authentication too.
		expectRateLimited(await t.request("GET", "/v1/tenants", { remoteAddress: from }));
		// A caller behind a shared address with a good token is not locked out by its neighbours.
		expect((await read(await t.operatorToken())).status).toBe(200);
		// Another address still hears 401.
		expectProblem(await read("not.a.token", "203.0.113.51"), 401, "unauthenticated");
	});
});

describe("IGOUDAR_TRUSTED_PROXIES", () => {
	it("reads addresses and CIDRs, and proxy-addr's range names", () => {
		expect(trustedProxiesFromEnv({ IGOUDAR_TRUSTED_PROXIES: "10.0.0.5, 10.1.0.0/16,::1,fd00::/8,loopback" })).toEqual([
			"10.0.0.5",
			"10.1.0.0/16",
			"::1",
			"fd00::/8",
			"loopback",
		]);
		expect(trustedProxiesFromEnv({})).toEqual([]);
	});

	it("refuses what is not an address, and an old IGOUDAR_TRUST_PROXY that would believe anyone", () => {
		expect(() => trustedProxiesFromEnv({ IGOUDAR_TRUSTED_PROXIES: "gateway" })).toThrow(/not an IP address or CIDR/);
		expect(() => trustedProxiesFromEnv({ IGOUDAR_TRUSTED_PROXIES: "10.0.0.0/33" })).toThrow(/not an IP/);
		expect(() => trustedProxiesFromEnv({ IGOUDAR_TRUST_PROXY: "true" })).toThrow(/IGOUDAR_TRUSTED_PROXIES/);
		expect(() => trustedProxiesFromEnv({ IGOUDAR_TRUST_PROXY: "2" })).toThrow(/IGOUDAR_TRUSTED_PROXIES/);
		expect(() =>
			trustedProxiesFromEnv({ IGOUDAR_TRUST_PROXY: "10.0.0.5", IGOUDAR_TRUSTED_PROXIES: "10.0.0.5" }),
		).toThrow(/set only/);
		// A list in the old variable still works as before.
		expect(trustedProxiesFromEnv({ IGOUDAR_TRUST_PROXY: "10.0.0.5" })).toEqual(["10.0.0.5"]);
		expect(trustedProxiesFromEnv({ IGOUDAR_TRUST_PROXY: "false" })).toEqual([]);
	});
});
