import { contextOf, createApp, createAuthenticator, recordAudit } from "@igoudar/kit";
import { useTestPlatform } from "@igoudar/server/testing";
import { describe, expect, it } from "vitest";
import { auditCoverage, isWriteRoute, type Recipe, routeLabel, type Send, sendThrough } from "./audit-coverage-support";
import { platformWriteRecipes } from "./audit-recipes";

/**
 * No write escapes the audit trail: every POST, PUT, PATCH and DELETE the platform mounts is called
 * once, successfully, and must leave an event under its request id saying who acted and from where.
 */

// A floor, so the check cannot pass by iterating nothing (write routes of every service as of now).
const MIN_WRITE_ROUTES = 38;

const t = useTestPlatform();

describe("every write route records an audit event", () => {
	it("calls each mounted write route successfully and finds its event, with actor and client address", async () => {
		const recipes = platformWriteRecipes(t);
		const report = await auditCoverage(t.db, t.platform.routes, recipes, sendThrough(t));
		expect(report.withoutRecipe, "write routes with no recipe in audit-recipes.ts").toEqual([]);
		expect(report.unsuccessful, "recipes whose call did not succeed").toEqual([]);
		expect(report.unaudited, "write routes that recorded no audit event").toEqual([]);
		expect(report.checked.length).toBeGreaterThanOrEqual(MIN_WRITE_ROUTES);
	});

	it("has no recipe for a route that does not exist (the list follows the route table)", () => {
		const mounted = new Set(t.platform.routes.filter(isWriteRoute).map(routeLabel));
		expect(Object.keys(platformWriteRecipes(t)).filter((label) => !mounted.has(label))).toEqual([]);
	});
});

describe("the coverage check itself", () => {
	it("flags a write route that records nothing, and one that nobody said how to call", async () => {
		const { app, routes } = await createApp({
			db: t.db,
			authenticator: createAuthenticator(t.db, t.config.kit),
			config: t.config.kit,
			probes: [],
			logger: false,
		});
		try {
			const access = { access: { role: "operator" as const } };
			app.post("/v1/audited", { config: access }, async (request) => {
				const ctx = contextOf(request, t.db);
				await recordAudit(ctx, { tenantId: null, action: "thing.create", targetType: "thing" });
				return { ok: true };
			});
			app.post("/v1/forgotten", { config: access }, async () => ({ ok: true }));
			app.delete("/v1/unlisted", { config: access }, async () => ({ ok: true }));
			await app.ready();

			const token = await t.operatorToken();
			const recipes: Record<string, Recipe> = {
				"POST /v1/audited": async () => ({ url: "/v1/audited", token }),
				"POST /v1/forgotten": async () => ({ url: "/v1/forgotten", token }),
			};
			const send: Send = async (method, call) => {
				const res = await app.inject({
					method: method as "POST",
					url: call.url,
					headers: { authorization: `Bearer ${call.token}` },
				});
				return { status: res.statusCode, body: res.json(), headers: res.headers };
			};
			const report = await auditCoverage(t.db, routes, recipes, send);
			expect(report.checked).toEqual(["POST /v1/audited", "POST /v1/forgotten"]);
			expect(report.unsuccessful).toEqual([]);
			expect(report.unaudited).toEqual([expect.stringMatching(/^POST \/v1\/forgotten \(request /)]);
			expect(report.withoutRecipe).toEqual(["DELETE /v1/unlisted"]);
		} finally {
			await app.close();
		}
	});

	it("counts a call that failed as proving nothing", async () => {
		const token = await t.operatorToken();
		const refused: Record<string, Recipe> = {
			"POST /v1/zones": async () => ({ url: "/v1/zones", token, body: { name: "Not A Name" } }),
		};
		const zonesOnly = t.platform.routes.filter((r) => routeLabel(r) === "POST /v1/zones");
		const report = await auditCoverage(t.db, zonesOnly, refused, sendThrough(t));
		expect(report.unsuccessful).toEqual([expect.stringMatching(/^POST \/v1\/zones -> 400 /)]);
		expect(report.unaudited).toEqual([]);
	});
});
