import { randomUUID } from "node:crypto";
import { isUnsafeText } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeQueryText, type Mode, queryValueFor, requestValueFor, valueFor } from "./schema-arbitrary";
import { type SpecOperation, specOperations } from "./spec-support";

/**
 * Property: whatever a client sends to any operation, built from that operation's own request
 * schemas with hostile text and wrong types mixed in, the answer is a status the spec documents
 * for it, a refusal is a well-formed problem with the request id, and nothing is ever a 500.
 * This keeps the class of bugs a spec-driven fuzzer found (lone surrogates reaching Postgres,
 * loosely read integers) covered as routes and schemas change.
 */

// Enough runs to reach every branch of the generators on every operation, few enough for seconds.
const RUNS_PER_BODY = 12;
const RUNS_PER_QUERY = 8;

let operator: string;
let operations: SpecOperation[];
/** Real ids for the path parameters that should reach the use cases; any other id is random. */
const realIds: Record<string, string> = {};
/** Names that exist, for the body fields that refer to other resources (a random name is a 400). */
const realNames: Record<string, string> = { zone: "fuzz-zone", flavor: "fuzz-flavor", placement_group: "fuzz-group" };

const t = useTestPlatform({
	setup: async (t) => {
		operator = await t.operatorToken();
		operations = await specOperations(t);
		realIds.tenant_id = (await t.createTenant()).id;
		const zone = await t.request<{ id: string }>("POST", "/v1/zones", {
			token: operator,
			body: { name: "fuzz-zone", jurisdiction: "MA" },
		});
		realIds.zone_id = zone.body.id;
		const host = await t.request<{ id: string }>("POST", "/v1/hosts", {
			token: operator,
			body: { name: "fuzz-host", zone: zone.body.id, vcpus: 64, memory_mib: 65_536, disk_gib: 1000 },
		});
		realIds.host_id = host.body.id;
		await t.request("POST", "/v1/flavors", {
			token: operator,
			body: { name: realNames.flavor, vcpus: 1, memory_mib: 256, disk_gib: 1 },
		});
		await t.request("POST", `/v1/tenants/${realIds.tenant_id}/placement-groups`, {
			token: operator,
			body: { name: realNames.placement_group, policy: "anti-affinity" },
		});
	},
});

function urlOf(op: SpecOperation): string {
	return op.path.replace(/\{(\w+)\}/g, (_match, name: string) => realIds[name] ?? randomUUID());
}

/** Half the time, a body's references name resources that exist, so the request gets further in. */
function withRealNames([body, real]: [unknown, boolean]): unknown {
	if (!real || !body || typeof body !== "object" || Array.isArray(body)) return body;
	const named = { ...(body as Record<string, unknown>) };
	for (const [field, name] of Object.entries(realNames)) if (typeof named[field] === "string") named[field] = name;
	return named;
}

function isEmptyBody(body: unknown): boolean {
	return (
		body === null || body === "" || (typeof body === "object" && !Array.isArray(body) && !Object.keys(body).length)
	);
}

/** What every answer must be: documented for the operation, and a proper problem when a refusal. */
function expectDocumented(
	op: SpecOperation,
	sent: string,
	res: { statusCode: number; headers: Record<string, unknown>; body: string },
) {
	const label = `${op.method.toUpperCase()} ${op.path} with ${sent} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
	expect(res.statusCode, label).not.toBe(500);
	expect(Object.keys(op.responses), label).toContain(String(res.statusCode));
	if (res.statusCode >= 400) {
		const problem = JSON.parse(res.body) as { code?: unknown; status?: unknown; request_id?: unknown; error?: unknown };
		// The token route answers OAuth clients: RFC 6749 JSON, the problem fields riding along.
		const oauth = op.path === "/v1/auth/token";
		expect(String(res.headers["content-type"]), label).toMatch(
			oauth ? /^application\/json/ : /^application\/problem\+json/,
		);
		if (oauth) expect(typeof problem.error, label).toBe("string");
		expect(typeof problem.code, label).toBe("string");
		expect(problem.status, label).toBe(res.statusCode);
		expect(problem.request_id, label).toBe(res.headers["x-request-id"]);
	}
}

describe("any request built from the request schemas gets a documented answer, never a 500", () => {
	it("holds for bodies on every operation that takes one (and bodies sent where none is taken)", async () => {
		const writes = operations.filter((op) => ["post", "put", "patch", "delete"].includes(op.method));
		expect(writes.filter((op) => op.body).length).toBeGreaterThanOrEqual(12);
		for (const op of writes) {
			// Body-less writes get an unwanted body only: an empty one would really delete the tenant.
			const bodies = op.body
				? fc.tuple(requestValueFor(op.body), fc.boolean()).map(withRealNames)
				: fc.jsonValue({ maxDepth: 2 }).filter((b) => !isEmptyBody(b));
			const isPublic = op.path === "/v1/auth/token";
			await fc.assert(
				fc.asyncProperty(bodies, async (body) => {
					const payload = JSON.stringify(body);
					const res = await t.app.inject({
						method: op.method.toUpperCase() as "POST",
						url: urlOf(op),
						payload,
						headers: {
							"content-type": "application/json",
							...(isPublic ? {} : { authorization: `Bearer ${operator}` }),
						},
					});
					expectDocumented(op, payload, res);
				}),
				{ numRuns: RUNS_PER_BODY },
			);
		}
	});

	it("holds for query strings on every operation that reads one", async () => {
		const reads = operations.filter((op) => op.query.length > 0);
		expect(reads.length).toBeGreaterThanOrEqual(8);
		for (const op of reads) {
			const params = op.parameters.filter((p) => p.in === "query");
			const queryIn = (mode: Mode) =>
				fc.record(Object.fromEntries(params.map((p) => [p.name, queryValueFor(p.schema, mode)])), {
					requiredKeys: [],
				});
			const query = fc.oneof(queryIn("conforming"), queryIn("hostile"));
			await fc.assert(
				fc.asyncProperty(query, async (values) => {
					const text = Object.entries(values)
						.map(([name, value]) => `${name}=${encodeQueryText(value ?? "")}`)
						.join("&");
					const res = await t.app.inject({
						method: op.method.toUpperCase() as "GET",
						url: `${urlOf(op)}?${text}`,
						headers: { authorization: `Bearer ${operator}` },
					});
					expectDocumented(op, `?${text}`, res);
				}),
				{ numRuns: RUNS_PER_QUERY },
			);
		}
	});

	it("generates the inputs the fuzzer found, so the properties above do exercise them", () => {
		const samples = fc.sample(valueFor({ type: "string", maxLength: 40 }, "hostile"), { numRuns: 400, seed: 7 });
		const unstorable = samples.filter((s) => typeof s === "string" && isUnsafeText(s));
		expect(unstorable.length).toBeGreaterThan(5);
		const integer = { type: "integer", minimum: 1, maximum: 200 };
		const limits = fc.sample(queryValueFor(integer, "hostile"), { numRuns: 200, seed: 7 });
		expect(limits).toEqual(expect.arrayContaining(["1.5"]));
	});
});
