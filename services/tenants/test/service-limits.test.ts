import { randomUUID } from "node:crypto";
import { operations } from "@igoudar/db";
import { testServerUrl } from "@igoudar/db/testing";
import { type InjectResult, useTestPlatform } from "@igoudar/server/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { expectProblem } from "./support";

const METRICS_TOKEN = "metrics-token-0123456789abcdef";
const AUTH_FAILURES = 3;

const t = useTestPlatform({
	env: {
		IGOUDAR_PAGE_SIZE_DEFAULT: "1",
		IGOUDAR_PAGE_SIZE_MAX: "2",
		IGOUDAR_METRICS_TOKEN: METRICS_TOKEN,
		IGOUDAR_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES),
	},
});

async function raw(method: "POST" | "PUT" | "PATCH", url: string, body: string, contentType: string) {
	const res = await t.app.inject({ method, url, payload: body, headers: { "content-type": contentType } });
	return { status: res.statusCode, headers: res.headers, body: JSON.parse(res.body) as unknown };
}

describe("a request to a route that does not exist", () => {
	it("answers 404 whatever its body", async () => {
		const cases: [string, "POST" | "PUT" | "PATCH", string, string, string][] = [
			["a JSON body", "POST", "/v1/no-such-thing", '{"name":"x"}', "application/json"],
			["malformed JSON", "POST", "/v1/no-such-thing", '{"name":', "application/json"],
			["an unsupported media type", "POST", "/v1/no-such-thing", "name=x", "text/plain"],
			["a body too large", "POST", "/v1/no-such-thing", `"${"x".repeat(t.config.kit.bodyLimit)}"`, "application/json"],
			["a known path with a method it lacks", "PUT", "/v1/tenants", '{"name":"x"}', "application/json"],
			["a body under a tenant path", "PATCH", `/v1/tenants/${randomUUID()}/nothing`, "{}", "application/json"],
		];
		for (const [what, method, url, body, type] of cases) {
			const res = await raw(method, url, body, type);
			expect({ what, status: res.status }).toEqual({ what, status: 404 });
			expectProblem(res as InjectResult<unknown>, 404, "not_found");
		}
	});
});

describe("page size", () => {
	it("uses the configured default and caps any `limit` at the configured maximum", async () => {
		const token = await t.operatorToken();
		for (let i = 0; i < 3; i++) await t.createTenant();
		const list = (query: string) =>
			t.request<{ items: unknown[]; next_page_token: string | null }>("GET", `/v1/tenants${query}`, { token });

		const byDefault = await list("");
		expect(byDefault.body.items).toHaveLength(1);
		expect(byDefault.body.next_page_token).not.toBeNull();
		const capped = await list("?limit=200");
		expect(capped.status).toBe(200);
		expect(capped.body.items).toHaveLength(2);
		expect(capped.body.next_page_token).not.toBeNull();
		// The contract's own bound still holds: past 200 is a bad request, not a large page.
		expectProblem(await list("?limit=201"), 400, "validation_failed");
	});
});

describe("GET /metrics", () => {
	const scrape = (headers: Record<string, string> = {}, remoteAddress?: string) =>
		t.request<string>("GET", "/metrics", { headers, remoteAddress });

	it("wants the configured bearer token, and counts wrong ones as failed authentications", async () => {
		const from = "203.0.113.90";
		expectProblem(await scrape({}, from), 401, "unauthenticated");
		expectProblem(await scrape({ authorization: "Bearer not-the-token" }, from), 401, "unauthenticated");
		expectProblem(await scrape({ authorization: `Basic ${METRICS_TOKEN}` }, from), 401, "unauthenticated");
		expectProblem(await scrape({ authorization: `Bearer ${METRICS_TOKEN}x` }, from), 429, "rate_limited");
		const ok = await scrape({ authorization: `Bearer ${METRICS_TOKEN}` });
		expect(ok.status).toBe(200);
		expect(String(ok.headers["content-type"])).toContain("text/plain");
		expect(ok.body).toContain("igoudar_http_requests_total");
	});

	it("costs no database query per scrape: the gauges are read on their timer, and a scrape serves them from memory", async () => {
		const auth = { authorization: `Bearer ${METRICS_TOKEN}` };
		const gauge = async (name: string) => {
			const line = (await scrape(auth)).body.split("\n").find((l) => l.startsWith(name));
			return line === undefined ? undefined : Number(line.split(" ").pop());
		};
		await t.platform.refreshMetrics();
		const pendingBefore = (await gauge('igoudar_operations_open{status="pending"}')) ?? 0;
		await t.db
			.insert(operations)
			.values({ tenantId: null, kind: "test.noop", targetType: "test", targetId: randomUUID(), status: "pending" });
		// A scrape does not look: the new operation shows only once the gauges are refreshed.
		expect(await gauge('igoudar_operations_open{status="pending"}')).toBe(pendingBefore);
		await t.platform.refreshMetrics();
		expect(await gauge('igoudar_operations_open{status="pending"}')).toBe(pendingBefore + 1);

		// With the database refusing every connection, scrapes still answer, from memory.
		const databaseName = new URL(t.database.url ?? "").pathname.slice(1);
		const admin = new pg.Client({ connectionString: testServerUrl });
		await admin.connect();
		try {
			await admin.query(`alter database "${databaseName}" with allow_connections false`);
			await admin.query(
				"select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
				[databaseName],
			);
			expect((await t.request("GET", "/readyz")).status).toBe(503);
			for (let i = 0; i < 3; i++) {
				const res = await scrape(auth);
				expect(res.status).toBe(200);
				expect(res.body).toContain(`igoudar_operations_open{status="pending"} ${pendingBefore + 1}`);
				expect(res.body).toContain("igoudar_platform_gauges_refreshed_seconds");
			}
			// A refresh during the outage keeps the last values rather than failing the scrape.
			await t.platform.refreshMetrics();
			expect(await gauge('igoudar_operations_open{status="pending"}')).toBe(pendingBefore + 1);
		} finally {
			await admin.query(`alter database "${databaseName}" with allow_connections true`);
			await admin.end();
		}
		expect((await t.request("GET", "/readyz")).status).toBe(200);
	});
});
