import { describe, expect, it } from "vitest";
import { createIgoudarClient, IgoudarError, parseRetryAfter } from "../src/index.js";

const TENANT = "11111111-1111-4111-8111-111111111111";
const INSTANCE = "22222222-2222-4222-8222-222222222222";

function problem(status: number, code: string, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify({ type: "about:blank", title: code, status, code, request_id: `req-${status}` }), {
		status,
		headers: { "content-type": "application/problem+json", "x-request-id": `req-${status}`, ...headers },
	});
}

/** A fake server answering from a script, recording what each try sent. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
	const sent: Request[] = [];
	const fetch = async (input: string | URL | Request, init?: RequestInit) => {
		sent.push(new Request(input, init));
		const next = answers.shift();
		if (!next) throw new Error("no more answers");
		return next();
	};
	const client = createIgoudarClient({
		baseUrl: "http://igoudar.test",
		token: "t",
		fetch,
		retry: { baseDelayMs: 1, maxDelayMs: 5 },
	});
	return { client, sent };
}

const instance = () =>
	new Response(JSON.stringify({ id: INSTANCE }), { headers: { "content-type": "application/json" } });

describe("Retry-After", () => {
	it("reads delta-seconds and HTTP dates", () => {
		const now = Date.parse("2026-12-01T10:00:00Z");
		expect(parseRetryAfter("7", now)).toBe(7000);
		expect(parseRetryAfter("Tue, 01 Dec 2026 10:00:05 GMT", now)).toBe(5000);
		expect(parseRetryAfter("Tue, 01 Dec 2026 09:00:00 GMT", now)).toBe(0);
		expect(parseRetryAfter("soon", now)).toBeUndefined();
		expect(parseRetryAfter(null, now)).toBeUndefined();
	});
});

describe("retries", () => {
	it("retries a GET through 429, 503 and a network error, honouring Retry-After", async () => {
		const { client, sent } = scripted([
			() => problem(429, "rate_limited", { "retry-after": "0" }),
			() => problem(503, "unavailable", { "retry-after": new Date(Date.now() - 1000).toUTCString() }),
			() => {
				throw new TypeError("fetch failed");
			},
			instance,
		]);
		await expect(client.instances.get(TENANT, INSTANCE)).resolves.toMatchObject({ id: INSTANCE });
		expect(sent).toHaveLength(4);
	});

	it("sends every try of a POST with the same Idempotency-Key", async () => {
		const accepted = () =>
			new Response(JSON.stringify({ instance: { id: INSTANCE }, operation: { id: "op" } }), {
				status: 202,
				headers: { "content-type": "application/json" },
			});
		const { client, sent } = scripted([() => problem(429, "rate_limited", { "retry-after": "0" }), accepted]);
		await client.instances.create(TENANT, { name: "web-1", flavor: "c2-m4" });
		const keys = sent.map((r) => r.headers.get("idempotency-key"));
		expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
		expect(keys[1]).toBe(keys[0]);
	});

	it("never retries a PATCH, which carries no Idempotency-Key", async () => {
		const { client, sent } = scripted([() => problem(503, "unavailable", { "retry-after": "0" }), instance]);
		const error = await client.hosts.update(INSTANCE, { cpu_allocation_ratio: 2 }).catch((e: unknown) => e);
		expect(error).toMatchObject({ status: 503, code: "unavailable", requestId: "req-503", retryAfter: 0 });
		expect(sent).toHaveLength(1);
	});

	it("surfaces a wait longer than the time budget at once, with its Retry-After", async () => {
		const { client, sent } = scripted([() => problem(429, "rate_limited", { "retry-after": "3600" })]);
		const error = await client.instances.get(TENANT, INSTANCE).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(IgoudarError);
		expect(error).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 3600 });
		expect(sent).toHaveLength(1);
	});

	it("gives up after maxAttempts with a network_error", async () => {
		const down = () => {
			throw new TypeError("fetch failed");
		};
		const { client, sent } = scripted(Array.from({ length: 8 }, () => down));
		await expect(client.instances.get(TENANT, INSTANCE)).rejects.toMatchObject({ status: 0, code: "network_error" });
		expect(sent).toHaveLength(8);
	});

	it("stops waiting when the signal aborts", async () => {
		const { client } = scripted([() => problem(503, "unavailable", { "retry-after": "30" })]);
		const controller = new AbortController();
		setTimeout(() => controller.abort(), 20);
		await expect(client.instances.get(TENANT, INSTANCE, { signal: controller.signal })).rejects.toMatchObject({
			name: "AbortError",
		});
	});
});

describe("tokens", () => {
	it("refuses at once, typed, when the credentials are refused", async () => {
		let tries = 0;
		const client = createIgoudarClient({
			baseUrl: "http://igoudar.test",
			clientId: "igc_x",
			clientSecret: "wrong",
			retry: { baseDelayMs: 1 },
			fetch: async () => {
				tries++;
				return new Response(JSON.stringify({ error: "invalid_client" }), {
					status: 401,
					headers: { "content-type": "application/json", "x-request-id": "req-token" },
				});
			},
		});
		await expect(client.tenants.get(TENANT)).rejects.toMatchObject({
			status: 401,
			code: "invalid_client",
			requestId: "req-token",
		});
		expect(tries).toBe(1);
	});
});
