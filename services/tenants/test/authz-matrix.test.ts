import { type Access, createApp, createAuthenticator, ROLE_RANK, type RouteRecord } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { expectProblem, fillPath } from "./support";

/**
 * The matrix is generated from the mounted route table, so a route added later is checked
 * without anyone remembering to add it here (omicron's unauthorized_coverage).
 */
type TenantRole = "admin" | "member" | "viewer";
type Protected = RouteRecord & { access: Exclude<Access, { public: true }> };

// The only routes allowed to answer without a token; anything else made public is a leak.
const PUBLIC_ROUTES = new Set([
	"GET /healthz",
	"GET /readyz",
	"GET /metrics",
	"GET /openapi.json",
	"GET /.well-known/jwks.json",
	"GET /.well-known/oauth-authorization-server",
	"POST /v1/auth/token",
]);
// Floors so the matrix cannot pass by iterating nothing (counts as of the tenants service).
const MIN_PROTECTED = 12;
const MIN_TENANT_SCOPED = 8;
const MIN_WRITES = 7;

let ownTenant: string;
let otherTenant: string;
let tokens: Record<TenantRole, string>;
let routes: Protected[];

const t = useTestPlatform({
	setup: async (t) => {
		ownTenant = (await t.createTenant()).id;
		otherTenant = (await t.createTenant()).id;
		const [admin, member, viewer] = await Promise.all([
			t.principal(ownTenant, "admin"),
			t.principal(ownTenant, "member"),
			t.principal(ownTenant, "viewer"),
		]);
		tokens = { admin: admin.token, member: member.token, viewer: viewer.token };
		routes = t.platform.routes.filter((r): r is Protected => !("public" in r.access));
	},
});

const label = (r: RouteRecord) => `${r.method} ${r.url}`;
const isWrite = (r: RouteRecord) => r.method !== "GET";
// Authorization runs before validation, so an empty object is enough to reach it.
const bodyFor = (r: RouteRecord) => (isWrite(r) && r.method !== "DELETE" ? {} : undefined);

describe("authorization matrix over every mounted route", () => {
	it("refuses to mount a route that declares no access rule (so none can ship unprotected)", async () => {
		const { app } = await createApp({
			db: t.db,
			authenticator: createAuthenticator(t.db, t.config.kit),
			config: t.config.kit,
			probes: [],
			logger: false,
		});
		try {
			for (const url of ["/v1/forgotten", "/docs-admin"]) {
				expect(() => app.get(url, async () => ({ leaked: true }))).toThrow(/declares no access rule/);
			}
		} finally {
			await app.close();
		}
	});

	it("has the expected public routes and nothing else public", () => {
		const publicRoutes = t.platform.routes.filter((r) => "public" in r.access).map(label);
		expect(new Set(publicRoutes)).toEqual(PUBLIC_ROUTES);
		expect(routes.length).toBeGreaterThanOrEqual(MIN_PROTECTED);
	});

	it("answers 401 to every protected route called without a token or with a bad one", async () => {
		let checked = 0;
		for (const route of routes) {
			const url = fillPath(route.url, ownTenant);
			const bare = await t.request(route.method, url, { body: bodyFor(route) });
			expect(bare.status, label(route)).toBe(401);
			expectProblem(bare, 401, "unauthenticated");
			const bad = await t.request(route.method, url, { body: bodyFor(route), token: "not.a.token" });
			expect(bad.status, label(route)).toBe(401);
			checked++;
		}
		expect(checked).toBeGreaterThanOrEqual(MIN_PROTECTED);
	});

	it("answers 401 to HEAD on every protected read, too", async () => {
		let checked = 0;
		for (const route of routes.filter((r) => r.method === "GET")) {
			const res = await t.app.inject({ method: "HEAD", url: fillPath(route.url, ownTenant) });
			expect(res.statusCode, `HEAD ${route.url}`).toBe(401);
			checked++;
		}
		expect(checked).toBeGreaterThanOrEqual(5);
	});

	it("answers 404 not_found when a tenant principal names another tenant, whatever the role rule", async () => {
		let checked = 0;
		for (const route of routes.filter((r) => r.access.tenant)) {
			expect(route.url, `${label(route)} is tenant-scoped but has no :tenant_id`).toContain(":tenant_id");
			const res = await t.request(route.method, fillPath(route.url, otherTenant), {
				token: tokens.admin,
				body: bodyFor(route),
			});
			expect(res.status, label(route)).toBe(404);
			expectProblem(res, 404, "not_found");
			// The answer for a tenant that exists must equal the one for a tenant that does not.
			const missing = await t.request(route.method, fillPath(route.url, "019a0000-0000-7000-8000-000000000001"), {
				token: tokens.admin,
				body: bodyFor(route),
			});
			expect(missing.status, label(route)).toBe(404);
			expect((missing.body as { detail?: string }).detail).toBe((res.body as { detail?: string }).detail);
			checked++;
		}
		expect(checked).toBeGreaterThanOrEqual(MIN_TENANT_SCOPED);
	});

	it("answers 403 forbidden to every tenant role below a route's rule, on its own tenant", async () => {
		let refused = 0;
		let allowed = 0;
		for (const route of routes) {
			for (const role of ["viewer", "member", "admin"] as const) {
				const res = await t.request(route.method, fillPath(route.url, ownTenant), {
					token: tokens[role],
					body: bodyFor(route),
				});
				if (ROLE_RANK[role] < ROLE_RANK[route.access.role]) {
					expect(res.status, `${role} ${label(route)}`).toBe(403);
					expectProblem(res, 403, "forbidden");
					refused++;
				} else {
					// Permitted: whatever the outcome (400 for the empty body, 404 for a random id), it is
					// not an authorization refusal. Proves the 403s above are not a blanket answer.
					expect([401, 403], `${role} ${label(route)} -> ${res.status}`).not.toContain(res.status);
					allowed++;
				}
			}
		}
		expect(refused).toBeGreaterThanOrEqual(10);
		expect(allowed).toBeGreaterThanOrEqual(8);
	});

	it("refuses every operator route to a tenant admin, on its own tenant or with no tenant path", async () => {
		const operatorRoutes = routes.filter((r) => r.access.role === "operator");
		for (const route of operatorRoutes) {
			const res = await t.request(route.method, fillPath(route.url, ownTenant), {
				token: tokens.admin,
				body: bodyFor(route),
			});
			expectProblem(res, 403, "forbidden");
		}
		expect(operatorRoutes.map(label)).toEqual(
			expect.arrayContaining(["POST /v1/tenants", "PATCH /v1/tenants/:tenant_id", "PATCH /v1/quota-defaults"]),
		);
		expect(operatorRoutes.length).toBeGreaterThanOrEqual(6);
	});

	it("refuses every write to a viewer of its own tenant, and no route lets viewers write", async () => {
		const writes = routes.filter(isWrite);
		for (const route of writes) {
			expect(route.access.role, `${label(route)} lets viewers write`).not.toBe("viewer");
			const res = await t.request(route.method, fillPath(route.url, ownTenant), {
				token: tokens.viewer,
				body: bodyFor(route),
			});
			expectProblem(res, 403, "forbidden");
		}
		expect(writes.length).toBeGreaterThanOrEqual(MIN_WRITES);
	});

	it("lets an operator through every tenant-scoped route of any tenant (no 401/403/tenant 404)", async () => {
		const operator = await t.operatorToken();
		let checked = 0;
		// Reads only: operator writes with `{}` could change the shared tenants of this file.
		for (const route of routes.filter((r) => r.access.tenant && r.method === "GET")) {
			const res = await t.request(route.method, fillPath(route.url, otherTenant), { token: operator });
			// Routes that name only the tenant must answer it; others may 404 on their random ids.
			const onlyTenantParam = route.url.match(/:\w+/g)?.length === 1;
			if (onlyTenantParam) expect(res.status, label(route)).toBe(200);
			else expect([401, 403, 500], label(route)).not.toContain(res.status);
			checked++;
		}
		expect(checked).toBeGreaterThanOrEqual(3);
	});
});
