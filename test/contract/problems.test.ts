import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TestPlatform, useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";

/**
 * Refusals from every layer (the router, the body parser, validation, authentication, the rate
 * limiter, a handler's quota check) answer the `Problem` the spec publishes: a code of its enum,
 * the request id in the body and the header, and `errors[]` items of `ProblemFieldError`.
 */

interface SchemaNode {
	required?: string[];
	properties?: Record<string, { enum?: string[] }>;
}
const root = fileURLToPath(new URL("../..", import.meta.url));
const schemas = (
	JSON.parse(readFileSync(join(root, "openapi/igoudar.json"), "utf8")) as {
		components: { schemas: Record<string, SchemaNode> };
	}
).components.schemas;

function expectSpecProblem(res: { status: number; body: unknown; headers: Record<string, unknown> }, code: string) {
	const problem = schemas.Problem as SchemaNode;
	const item = schemas.ProblemFieldError as SchemaNode;
	const body = res.body as Record<string, unknown>;
	expect(String(res.headers["content-type"])).toMatch(/^application\/problem\+json/);
	expect({ status: res.status, code: body.code }).toEqual({ status: body.status, code });
	for (const field of problem.required ?? []) expect(body, field).toHaveProperty(field);
	for (const field of Object.keys(body)) expect(problem.properties ?? {}, field).toHaveProperty(field);
	expect(problem.properties?.code?.enum).toContain(body.code);
	expect(body.request_id).toBe(res.headers["x-request-id"]);
	for (const entry of (body.errors as Record<string, unknown>[] | undefined) ?? []) {
		for (const field of Object.keys(entry)) expect(item.properties ?? {}, field).toHaveProperty(field);
	}
}

let op: string;
const t = useTestPlatform({
	env: { IGOUDAR_RATE_LIMIT_PER_MINUTE: "40" },
	setup: async (t) => {
		op = await t.operatorToken();
	},
});

describe("every refusal is the published Problem", () => {
	it("from the router, the parser, validation and authentication", async () => {
		expectSpecProblem(await t.request("GET", "/v1/no-such-thing", { token: op }), "not_found");
		expectSpecProblem(await t.request("GET", "/v1/no-such-thing"), "not_found");
		expectSpecProblem(
			await t.request("POST", "/v1/zones", { token: op, body: { name: "Not A Name", extra: 1 } }),
			"validation_failed",
		);
		expectSpecProblem(
			await t.request("POST", "/v1/zones", {
				token: op,
				body: { name: "z", jurisdiction: "MA", padding: "x".repeat(t.config.kit.bodyLimit) },
			}),
			"payload_too_large",
		);
		expectSpecProblem(await t.request("GET", "/v1/zones", { token: "not-a-token" }), "unauthenticated");
		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		expectSpecProblem(await t.request("POST", "/v1/zones", { token: viewer.token, body: {} }), "forbidden");
	});

	it("from a quota check, with the shortfall in errors[]", async () => {
		const tenant = await t.createTenant();
		await t.request("PATCH", `/v1/tenants/${tenant.id}/quotas`, { token: op, body: { limits: { volume_gib: 1 } } });
		const member = await t.principal(tenant.id, "member");
		const res = await t.request<{ errors?: { resource?: string }[] }>("POST", `/v1/tenants/${tenant.id}/volumes`, {
			token: member.token,
			body: { name: "too-big", size_gib: 10 },
		});
		expectSpecProblem(res, "quota_exceeded");
		expect(res.body.errors?.[0]).toMatchObject({ resource: "volume_gib", limit: 1, requested: 10 });
	});

	it("from the rate limiter, with Retry-After", async () => {
		const tenant = await t.createTenant();
		const viewer = await t.principal(tenant.id, "viewer");
		let limited: Awaited<ReturnType<TestPlatform["request"]>> | undefined;
		for (let i = 0; i < 60 && !limited; i++) {
			const res = await t.request("GET", `/v1/tenants/${tenant.id}/quotas`, { token: viewer.token });
			if (res.status === 429) limited = res;
		}
		if (!limited) throw new Error("the rate limit never answered 429");
		expectSpecProblem(limited, "rate_limited");
		expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
	});

	it("from admission control at capacity, with Retry-After, and the bound frees as requests end", async () => {
		const busy = await TestPlatform.start({ env: { IGOUDAR_MAX_REQUESTS_IN_FLIGHT: "2" } });
		try {
			const token = await busy.operatorToken();
			const burst = await Promise.all(Array.from({ length: 20 }, () => busy.request("GET", "/v1/zones", { token })));
			const refused = burst.filter((res) => res.status === 503);
			expect(refused.length).toBeGreaterThan(0);
			expect(burst.filter((res) => res.status === 200).length).toBeGreaterThanOrEqual(2);
			for (const res of refused) {
				expectSpecProblem(res, "unavailable");
				expect(res.headers["retry-after"]).toBe("1");
			}
			// Nothing stays counted: one at a time, every request is admitted again; probes never wait.
			for (let i = 0; i < 5; i++) expect((await busy.request("GET", "/v1/zones", { token })).status).toBe(200);
			const probes = await Promise.all(Array.from({ length: 10 }, () => busy.request("GET", "/healthz")));
			expect(probes.every((res) => res.status === 200)).toBe(true);
		} finally {
			await busy.close();
		}
	});
});
