import { Writable } from "node:stream";
import { useTestPlatform } from "@igoudar/server/testing";
import type { FastifyBaseLogger } from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";

/**
 * One log line a request, written when it completes, with its request id and, once the caller
 * is known, the caller's tenant and principal: fields each request's own logger carries, so no
 * request's line ever names another's caller.
 */
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
	write(chunk: Buffer, _encoding, done) {
		for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line));
		done();
	},
});
const t = useTestPlatform({ logger: pino({ level: "info" }, sink) as unknown as FastifyBaseLogger });

describe("the request log", () => {
	it("names each request's own caller, however many run at once", async () => {
		const tenants = await Promise.all([t.createTenant(), t.createTenant(), t.createTenant()]);
		const callers = await Promise.all(tenants.map((tenant) => t.principal(tenant.id, "viewer")));
		const requests = Array.from({ length: 30 }, (_, i) => i % 3);
		const answers = await Promise.all(
			requests.map((k) =>
				t.request("GET", `/v1/tenants/${tenants[k]?.id}/quotas`, { token: callers[k]?.token }).then((res) => ({
					k,
					res,
				})),
			),
		);
		for (const { k, res } of answers) {
			expect(res.status).toBe(200);
			const requestId = res.headers["x-request-id"];
			const logged = lines.filter((line) => line.request_id === requestId && line.msg === "request completed");
			expect(logged).toHaveLength(1);
			expect(logged[0]).toMatchObject({ tenant_id: tenants[k]?.id, principal_id: callers[k]?.id });
		}
	});

	it("leaves the caller's fields off a request that names none", async () => {
		const res = await t.request("GET", "/healthz");
		const requestId = res.headers["x-request-id"];
		const logged = lines.filter((line) => line.request_id === requestId && line.msg === "request completed");
		expect(logged).toHaveLength(1);
		expect(logged[0]).not.toHaveProperty("tenant_id");
		expect(logged[0]).not.toHaveProperty("principal_id");
	});
});
