import { randomBytes } from "node:crypto";
import { TestPlatform } from "@igoudar/server/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** The `Location` the spec documents on 201 and 202 is sent, and leads somewhere readable. */

let t: TestPlatform;
let op: string;
beforeAll(async () => {
	t = await TestPlatform.start();
	op = await t.operatorToken();
});
afterAll(async () => {
	await t?.close();
});

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString("hex")}`;

describe("Location", () => {
	it("names the new resource on a 201, on a replay too, and the resource is there", async () => {
		const key = randomBytes(8).toString("hex");
		const body = { name: unique("zone"), jurisdiction: "MA" };
		const created = await t.request<{ id: string }>("POST", "/v1/zones", {
			token: op,
			body,
			headers: { "idempotency-key": key },
		});
		expect(created.status).toBe(201);
		expect(created.headers.location).toBe(`/v1/zones/${created.body.id}`);
		const read = await t.request("GET", String(created.headers.location), { token: op });
		expect(read.status).toBe(200);
		expect(read.body).toEqual(created.body);

		const replayed = await t.request("POST", "/v1/zones", { token: op, body, headers: { "idempotency-key": key } });
		expect(replayed.headers["idempotent-replayed"]).toBe("true");
		expect(replayed.headers.location).toBe(created.headers.location);
	});

	it("names the operation on a 202, readable by the tenant that started it", async () => {
		const zone = await t.request<{ id: string; name: string }>("POST", "/v1/zones", {
			token: op,
			body: { name: unique("zone"), jurisdiction: "MA" },
		});
		const host = await t.request("POST", "/v1/hosts", {
			token: op,
			body: { name: unique("host"), zone: zone.body.name, vcpus: 8, memory_mib: 16_384, disk_gib: 200 },
		});
		expect(host.status).toBe(201);
		const flavor = await t.request<{ name: string }>("POST", "/v1/flavors", {
			token: op,
			body: { name: unique("c2-m4"), vcpus: 2, memory_mib: 4096, disk_gib: 40 },
		});
		const tenant = await t.createTenant();
		const member = await t.principal(tenant.id, "member");
		const created = await t.request<{ operation: { id: string } }>("POST", `/v1/tenants/${tenant.id}/instances`, {
			token: member.token,
			body: { name: unique("web"), flavor: flavor.body.name, zone: zone.body.name },
		});
		expect(created.status).toBe(202);
		const location = `/v1/tenants/${tenant.id}/operations/${created.body.operation.id}`;
		expect(created.headers.location).toBe(location);
		const polled = await t.request<{ id: string }>("GET", location, { token: member.token });
		expect(polled.status).toBe(200);
		expect(polled.body.id).toBe(created.body.operation.id);
	});

	it("names the resource on a 202 whose operation has no tenant to be read under (an invoice run)", async () => {
		const created = await t.request<{
			run: { id: string; period_start: string; period_end: string };
			operation: { id: string };
		}>("POST", "/v1/invoices/run", {
			token: op,
			body: { period_start: "2026-01-01T00:00:00Z", period_end: "2026-02-01T00:00:00Z" },
		});
		expect(created.status).toBe(202);
		const location = `/v1/invoice-runs/${created.body.run.id}`;
		expect(created.headers.location).toBe(location);
		const read = await t.request<{ operation: { id: string } | null }>("GET", location, { token: op });
		expect(read.status).toBe(200);
		// The run's operation may have moved on since the 202; the run is the same one.
		const { id, period_start, period_end } = created.body.run;
		expect(read.body).toMatchObject({ id, period_start, period_end });
		expect(read.body.operation?.id).toBe(created.body.operation.id);
	});

	it("is not sent where there is no item to read (a service account has no GET of its own)", async () => {
		const tenant = await t.createTenant();
		const created = await t.request("POST", `/v1/tenants/${tenant.id}/service-accounts`, {
			token: op,
			body: { name: unique("ci"), role: "viewer" },
		});
		expect(created.status).toBe(201);
		expect(created.headers.location).toBeUndefined();
	});
});
