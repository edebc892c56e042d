import { request as httpRequest } from "node:http";
import { auditEvents, quotas, serviceAccounts, tenants } from "@igoudar/db";
import { TEXT_PATTERN } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { freeStrings, type Spec, specOperations, UNSTORABLE_STRINGS } from "./spec-support";
import { expectProblem, fieldsOf, uniqueName } from "./support";

let operator: string;
let tenantId: string;

const t = useTestPlatform({
	setup: async (t) => {
		operator = await t.operatorToken();
		tenantId = (await t.createTenant()).id;
	},
});

/** Row counts of every table a refused write could have touched. */
async function rowCounts(): Promise<Record<string, number>> {
	const [tenantRows, accountRows, auditRows] = await Promise.all([
		t.db.select({ id: tenants.id }).from(tenants),
		t.db.select({ id: serviceAccounts.id }).from(serviceAccounts),
		t.db.select({ id: auditEvents.id }).from(auditEvents),
	]);
	return { tenants: tenantRows.length, accounts: accountRows.length, audit: auditRows.length };
}

function raw(method: "POST" | "PATCH", url: string, payload: string | undefined, headers: Record<string, string> = {}) {
	return t.app
		.inject({ method, url, payload, headers: { authorization: `Bearer ${operator}`, ...headers } })
		.then((r) => ({ status: r.statusCode, headers: r.headers, body: r.body ? (JSON.parse(r.body) as unknown) : null }));
}

describe("unknown and server-owned fields", () => {
	const tenantCases: [string, Record<string, unknown>, string][] = [
		["an unknown field", { name: uniqueName("x"), colour: "blue" }, "body/colour"],
		["id", { name: uniqueName("x"), id: "019a0000-0000-7000-8000-000000000000" }, "body/id"],
		["tenant_id", { name: uniqueName("x"), tenant_id: "019a0000-0000-7000-8000-000000000000" }, "body/tenant_id"],
		["status on create", { name: uniqueName("x"), status: "active" }, "body/status"],
		["created_at", { name: uniqueName("x"), created_at: "2020-01-01T00:00:00Z" }, "body/created_at"],
		["price_plan_id on create", { name: uniqueName("x"), price_plan_id: null }, "body/price_plan_id"],
	];
	for (const [what, body, field] of tenantCases) {
		it(`refuses ${what} on tenant create with 400 naming ${field}, storing nothing`, async () => {
			const before = await rowCounts();
			const res = await t.request("POST", "/v1/tenants", { token: operator, body });
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res)).toContain(field);
			expect(await rowCounts()).toEqual(before);
		});
	}

	it("refuses writable-looking fields on service accounts (client_secret, tenant_id, operator role)", async () => {
		const before = await rowCounts();
		const url = `/v1/tenants/${tenantId}/service-accounts`;
		const secret = await t.request("POST", url, {
			token: operator,
			body: { name: uniqueName("sa"), role: "viewer", client_secret: "igs_chosen" },
		});
		expectProblem(secret, 400, "validation_failed");
		expect(fieldsOf(secret)).toContain("body/client_secret");
		const owner = await t.request("POST", url, {
			token: operator,
			body: { name: uniqueName("sa"), role: "viewer", tenant_id: tenantId },
		});
		expect(fieldsOf(owner)).toContain("body/tenant_id");
		// An operator account can only come from bootstrap, never from a tenant's API.
		const escalate = await t.request("POST", url, {
			token: operator,
			body: { name: uniqueName("sa"), role: "operator" },
		});
		expectProblem(escalate, 400, "validation_failed");
		expect(fieldsOf(escalate).some((f) => f.startsWith("body/role"))).toBe(true);
		expect(await rowCounts()).toEqual(before);
	});

	it("refuses usage counters on quota updates and leaves the limits as they were", async () => {
		const url = `/v1/tenants/${tenantId}/quotas`;
		const before = await t.db.select().from(quotas).where(eq(quotas.tenantId, tenantId));
		const top = await t.request("PATCH", url, { token: operator, body: { limits: { vcpus: 1 }, used: { vcpus: 0 } } });
		expectProblem(top, 400, "validation_failed");
		expect(fieldsOf(top)).toContain("body/used");
		const nested = await t.request("PATCH", url, { token: operator, body: { limits: { vcpus: 1, used: 0 } } });
		expectProblem(nested, 400, "validation_failed");
		expect(fieldsOf(nested)).toContain("body/limits/used");
		const unknown = await t.request("PATCH", url, { token: operator, body: { limits: { gpus: 4 } } });
		expect(fieldsOf(unknown)).toContain("body/limits/gpus");
		const negative = await t.request("PATCH", url, { token: operator, body: { limits: { vcpus: -1 } } });
		expectProblem(negative, 400, "validation_failed");
		expect(fieldsOf(negative)).toContain("body/limits/vcpus");
		expect(await t.db.select().from(quotas).where(eq(quotas.tenantId, tenantId))).toEqual(before);
	});

	it("names missing required fields and bad values", async () => {
		const missing = await t.request("POST", "/v1/tenants", { token: operator, body: {} });
		expectProblem(missing, 400, "validation_failed");
		expect(fieldsOf(missing)).toContain("body/name");
		const badName = await t.request("POST", "/v1/tenants", { token: operator, body: { name: "Upper Case" } });
		expect(fieldsOf(badName)).toContain("body/name");
		const badResidency = await t.request("POST", "/v1/tenants", {
			token: operator,
			body: { name: uniqueName("r"), data_residency: ["morocco"] },
		});
		expect(fieldsOf(badResidency)).toContain("body/data_residency/0");
		const emptyPatch = await t.request("PATCH", `/v1/tenants/${tenantId}`, { token: operator, body: {} });
		expectProblem(emptyPatch, 400, "validation_failed");
		// A reference to nothing is a bad request, not a foreign-key failure answered as a 500.
		const noPlan = await t.request("PATCH", `/v1/tenants/${tenantId}`, {
			token: operator,
			body: { price_plan_id: "019a0000-0000-7000-8000-00000000beef" },
		});
		expectProblem(noPlan, 400, "validation_failed");
		expect(fieldsOf(noPlan)).toEqual(["body/price_plan_id"]);
	});
});

describe("malformed requests answer problem+json with stable codes, never 500", () => {
	it("refuses invalid JSON with 400 validation_failed", async () => {
		const before = await rowCounts();
		const res = await raw("POST", "/v1/tenants", '{"name": "abc",', { "content-type": "application/json" });
		expectProblem(res, 400, "validation_failed");
		expect(await rowCounts()).toEqual(before);
	});

	it("refuses an empty JSON body with 400 validation_failed", async () => {
		expectProblem(
			await raw("POST", "/v1/tenants", "", { "content-type": "application/json" }),
			400,
			"validation_failed",
		);
		expectProblem(await raw("POST", "/v1/tenants", undefined), 400, "validation_failed");
	});

	it("refuses a JSON body that is not an object", async () => {
		for (const payload of ["null", "[]", '"name"', "42"]) {
			const res = await raw("POST", "/v1/tenants", payload, { "content-type": "application/json" });
			expect(res.status, payload).toBe(400);
			expectProblem(res, 400, "validation_failed");
		}
	});

	it("refuses other content types with 415, form bodies included outside the token route", async () => {
		const text = await raw("POST", "/v1/tenants", "name=abc", { "content-type": "text/plain" });
		expectProblem(text, 415, "unsupported_media_type");
		const form = await raw("POST", "/v1/tenants", "name=abc", { "content-type": "application/x-www-form-urlencoded" });
		expectProblem(form, 415, "unsupported_media_type");
		const xml = await raw("PATCH", `/v1/tenants/${tenantId}`, "<a/>", { "content-type": "application/xml" });
		expectProblem(xml, 415, "unsupported_media_type");
	});

	it("refuses a body over the size limit with 413", async () => {
		const huge = JSON.stringify({ name: "a", display_name: "x".repeat(t.config.kit.bodyLimit + 1) });
		const res = await raw("POST", "/v1/tenants", huge, { "content-type": "application/json" });
		expectProblem(res, 413, "payload_too_large");
	});

	it("refuses bad query and path parameters with 400 naming them", async () => {
		for (const query of ["limit=0", "limit=201", "limit=abc", "colour=blue"]) {
			const res = await t.request("GET", `/v1/tenants?${query}`, { token: operator });
			expectProblem(res, 400, "validation_failed");
			expect(
				fieldsOf(res).some((f) => f.startsWith("querystring")),
				query,
			).toBe(true);
		}
		const badId = await t.request("GET", "/v1/tenants/not-a-uuid", { token: operator });
		expectProblem(badId, 400, "validation_failed");
		expect(fieldsOf(badId)).toContain("params/tenant_id");
	});

	it("answers unknown routes and methods with a 404 problem", async () => {
		expectProblem(await t.request("GET", "/v1/nothing-here", { token: operator }), 404, "not_found");
		expectProblem(await t.request("GET", "/v2/tenants"), 404, "not_found");
		expectProblem(await t.request("PUT", "/v1/tenants", { token: operator, body: {} }), 404, "not_found");
	});

	it("answers a malformed URL with a 400 problem, not Fastify's bare JSON", async () => {
		expectProblem(await t.request("GET", "/v1/tenants/%E0%A4%A", { token: operator }), 400, "validation_failed");
		// Over Fastify's path-parameter length limit: answered before routing, too.
		const long = await t.request("GET", `/v1/tenants/${"a".repeat(150)}`, { token: operator });
		expectProblem(long, 400, "validation_failed");
	});

	it("refuses prototype-poisoning bodies as invalid JSON", async () => {
		const before = await rowCounts();
		const res = await raw("POST", "/v1/tenants", `{"name":"${uniqueName("p")}","__proto__":{"admin":true}}`, {
			"content-type": "application/json",
		});
		expectProblem(res, 400, "validation_failed");
		expect(await rowCounts()).toEqual(before);
	});
});

describe("request ids", () => {
	it("echoes a caller's x-request-id on success and on error, in header and problem body", async () => {
		const ok = await t.request("GET", "/v1/tenants", { token: operator, headers: { "x-request-id": "trace-abc.123" } });
		expect(ok.status).toBe(200);
		expect(ok.headers["x-request-id"]).toBe("trace-abc.123");
		const refused = await t.request("GET", "/v1/tenants", { headers: { "x-request-id": "trace-def:456" } });
		const body = expectProblem(refused, 401, "unauthenticated");
		expect(body.request_id).toBe("trace-def:456");
		const unknown = await t.request("GET", "/nope", { headers: { "x-request-id": "trace-404" } });
		expect(expectProblem(unknown, 404, "not_found").request_id).toBe("trace-404");
	});

	it("replaces an unusable caller id (too long, odd characters) with one of its own", async () => {
		for (const given of ["x".repeat(129), "has spaces", "new\u00e9line"]) {
			const res = await t.request("GET", "/healthz", { headers: { "x-request-id": given } });
			expect(res.status).toBe(200);
			expect(res.headers["x-request-id"]).not.toBe(given);
			expect(String(res.headers["x-request-id"])).toMatch(/^[0-9a-f-]{36}$/);
		}
	});

	it("gives every response a distinct request id when the caller sends none", async () => {
		const answers = await Promise.all(Array.from({ length: 10 }, () => t.request("GET", "/v1/tenants")));
		const ids = answers.map((a) => a.headers["x-request-id"]);
		expect(new Set(ids).size).toBe(10);
		for (const a of answers) expectProblem(a, 401, "unauthenticated");
	});
});

describe("strings the database cannot hold, and integers written loosely", () => {
	it("refuses NUL and lone surrogates in a tenant display_name on create and update, storing nothing", async () => {
		const before = await rowCounts();
		const [tenant] = await t.db.select().from(tenants).where(eq(tenants.id, tenantId));
		for (const value of UNSTORABLE_STRINGS) {
			const created = await t.request("POST", "/v1/tenants", {
				token: operator,
				body: { name: uniqueName("s"), display_name: value },
			});
			expectProblem(created, 400, "validation_failed");
			expect(fieldsOf(created), JSON.stringify(value)).toEqual(["body/display_name"]);
			const patched = await t.request("PATCH", `/v1/tenants/${tenantId}`, {
				token: operator,
				body: { display_name: value },
			});
			expectProblem(patched, 400, "validation_failed");
			expect(fieldsOf(patched)).toEqual(["body/display_name"]);
		}
		expect(await rowCounts()).toEqual(before);
		expect(await t.db.select().from(tenants).where(eq(tenants.id, tenantId))).toEqual([tenant]);
		// A well-formed pair (an emoji) is text like any other and is stored as sent.
		const emoji = await t.request("POST", "/v1/tenants", {
			token: operator,
			body: { name: uniqueName("e"), display_name: "Acme \ud83d\ude00" },
		});
		expect(emoji.status).toBe(201);
		expect((emoji.body as { display_name: string }).display_name).toBe("Acme 😀");
	});

	it("refuses them in any string of any body, property names included, before credentials are checked", async () => {
		const token = await t.request("POST", "/v1/auth/token", {
			body: { grant_type: "client_credentials", client_id: "igc_\ud800", client_secret: "secret" },
		});
		expectProblem(token, 400, "validation_failed");
		expect(fieldsOf(token)).toEqual(["body/client_id"]);
		const key = await t.request("POST", "/v1/tenants", {
			token: operator,
			body: { name: uniqueName("k"), "\ud800": 1 },
		});
		expectProblem(key, 400, "validation_failed");
		expect(fieldsOf(key)).toEqual(["body"]);
		const nested = await t.request("PATCH", `/v1/tenants/${tenantId}/quotas`, {
			token: operator,
			body: { limits: { "vcpus\u0000": 1 } },
		});
		expectProblem(nested, 400, "validation_failed");
		expect(fieldsOf(nested)).toEqual(["body/limits"]);
	});

	it("refuses them in query and path parameters", async () => {
		for (const [method, url] of [
			["GET", "/v1/tenants?page_token=%00"],
			["GET", `/v1/tenants/${tenantId}/audit-events?actor_id=a%00b`],
			["GET", "/v1/tenants/%00/quotas"],
			["DELETE", `/v1/tenants/${tenantId}/service-accounts/%00`],
		] as const) {
			const res = await t.request(method, url, { token: operator });
			expectProblem(res, 400, "validation_failed");
			expect(fieldsOf(res).join(), url).toMatch(/^(querystring|params)\//);
		}
	});

	it("reads limit as a decimal integer 1-200 only, on every list", async () => {
		const lists = (await specOperations(t)).filter((op) => op.method === "get" && op.query.includes("limit"));
		expect(lists.length).toBeGreaterThanOrEqual(8);
		for (const { path } of lists) {
			const url = path.replace("{tenant_id}", tenantId);
			for (const limit of ["1.5", "0x10", "1e1", "0b11", "0o7", "+5", "%205", "1_0", "", "0", "-1", "201"]) {
				const res = await t.request("GET", `${url}?limit=${limit}`, { token: operator });
				expectProblem(res, 400, "validation_failed");
				expect(fieldsOf(res), `${path}?limit=${limit}`).toEqual(["querystring/limit"]);
			}
			for (const limit of ["7", "200"]) {
				const res = await t.request("GET", `${url}?limit=${limit}`, { token: operator });
				expect(res.status, `${path}?limit=${limit}`).toBe(200);
			}
		}
	});
});

describe("what the spec says about refusals", () => {
	it("declares 413 and 415 on every route that takes a body, 431 on every route, and lists every code", async () => {
		const operations = await specOperations(t);
		for (const op of operations) {
			const label = `${op.method} ${op.path}`;
			expect(op.responses["431"]?.description, label).toContain("headers_too_large");
			if (["post", "put", "patch", "delete"].includes(op.method)) {
				expect(op.responses["413"]?.description, label).toContain("payload_too_large");
				expect(op.responses["415"]?.description, label).toContain("unsupported_media_type");
			}
		}
		const spec = await t.request<Spec>("GET", "/openapi.json");
		const codeDescription = spec.body.components.schemas.Problem.properties.code.description;
		for (const code of ["payload_too_large", "unsupported_media_type", "headers_too_large", "validation_failed"]) {
			expect(codeDescription).toContain(`\`${code}\``);
		}
	});

	it("writes the refusal of NUL and lone surrogates into every free string of every request schema", async () => {
		let documented = 0;
		for (const op of await specOperations(t)) {
			for (const schema of op.requestSchemas) {
				for (const text of freeStrings(schema)) {
					expect(text.pattern, `${op.method} ${op.path}`).toBeDefined();
					if (text.pattern === TEXT_PATTERN) documented++;
				}
			}
		}
		expect(documented).toBeGreaterThanOrEqual(10);
		for (const flags of ["", "u"]) {
			const pattern = new RegExp(TEXT_PATTERN, flags);
			for (const bad of UNSTORABLE_STRINGS) expect(pattern.test(bad), JSON.stringify(bad)).toBe(false);
			for (const good of ["", "Acme", "😀 émoji", "tab\tnew\nline"]) expect(pattern.test(good), good).toBe(true);
		}
	});
});

describe("requests Node refuses before routing", () => {
	it("answers a 100,000-character URL and oversized headers with a 431 problem and a request id", async () => {
		const address = await t.app.listen({ host: "127.0.0.1", port: 0 });
		const { port } = new URL(address);
		const huge = await rawGet(port, `/v1/tenants?page_token=${"a".repeat(100_000)}`, {});
		const bigHeader = await rawGet(port, "/v1/tenants", { "x-padding": "p".repeat(20_000) });
		for (const res of [huge, bigHeader]) {
			expect(res.status).toBe(431);
			expect(res.headers["content-type"]).toBe("application/problem+json");
			const body = JSON.parse(res.body) as { code: string; status: number; request_id: string };
			expect(body).toMatchObject({ code: "headers_too_large", status: 431 });
			expect(body.request_id).toBe(res.headers["x-request-id"]);
			expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
		}
	});
});

/** A GET over a real socket: what Node answers before Fastify is only seen there, not through inject. */
function rawGet(port: string, path: string, headers: Record<string, string>) {
	return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
		const req = httpRequest({ host: "127.0.0.1", port: Number(port), path, headers }, (res) => {
			let body = "";
			res.setEncoding("utf8");
			res.on("data", (chunk: string) => {
				body += chunk;
			});
			res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
		});
		req.on("error", reject);
		req.end();
	});
}
