import { randomBytes } from "node:crypto";
import { serviceAccounts } from "@igoudar/db";
import { useTestPlatform } from "@igoudar/server/testing";
import { and, eq, isNull } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { bootstrapOperator } from "../src/app/bootstrap";
import { expectProblem } from "./support";

const t = useTestPlatform();

/** A logger whose every line is kept, parsed, so a test can count what was printed. */
function capturingLogger(): { log: FastifyBaseLogger; lines: Record<string, unknown>[] } {
	const lines: Record<string, unknown>[] = [];
	const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
	return { log: pino({ level: "info" }, destination) as unknown as FastifyBaseLogger, lines };
}

const secret = () => `igs_${randomBytes(24).toString("base64url")}`;

async function accountsWithClientId(clientId: string) {
	return t.db.select().from(serviceAccounts).where(eq(serviceAccounts.clientId, clientId));
}

async function tokenStatus(clientId: string, clientSecret: string): Promise<number> {
	const res = await t.request("POST", "/v1/auth/token", {
		body: { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
	});
	if (res.status !== 200) expectProblem(res, 401, "unauthenticated");
	return res.status;
}

describe("bootstrap with a configured credential", () => {
	it("creates an operator with exactly that id and secret, usable at once", async () => {
		const { log } = capturingLogger();
		const creds = { clientId: "igc_boot_one", clientSecret: secret() };
		await bootstrapOperator(t.db, creds, log);
		const rows = await accountsWithClientId(creds.clientId);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({ role: "operator", tenantId: null, revokedAt: null });
		expect(rows[0]?.secretHash).not.toContain(creds.clientSecret);

		const token = await t.token(creds.clientId, creds.clientSecret);
		const created = await t.request("POST", "/v1/tenants", { token, body: { name: "from-bootstrap" } });
		expect(created.status).toBe(201);
	});

	it("is idempotent: running it again (also in parallel, as replicas do) keeps one row and the same hash", async () => {
		const { log, lines } = capturingLogger();
		const creds = { clientId: "igc_boot_two", clientSecret: secret() };
		await bootstrapOperator(t.db, creds, log);
		const [first] = await accountsWithClientId(creds.clientId);
		await Promise.all(Array.from({ length: 4 }, () => bootstrapOperator(t.db, creds, log)));
		const rows = await accountsWithClientId(creds.clientId);
		expect(rows).toHaveLength(1);
		expect(rows[0]?.id).toBe(first?.id);
		// An unchanged secret is not re-hashed (a fresh salt would look like a change in the audit trail).
		expect(rows[0]?.secretHash).toBe(first?.secretHash);
		expect(lines.filter((l) => l.msg === "bootstrap operator credential created")).toHaveLength(1);
		expect(await tokenStatus(creds.clientId, creds.clientSecret)).toBe(200);
	});

	it("with a changed secret, the new secret works and the old one fails", async () => {
		const { log } = capturingLogger();
		const clientId = "igc_boot_three";
		const oldSecret = secret();
		const newSecret = secret();
		await bootstrapOperator(t.db, { clientId, clientSecret: oldSecret }, log);
		expect(await tokenStatus(clientId, oldSecret)).toBe(200);

		await bootstrapOperator(t.db, { clientId, clientSecret: newSecret }, log);
		expect(await accountsWithClientId(clientId)).toHaveLength(1);
		expect(await tokenStatus(clientId, newSecret)).toBe(200);
		expect(await tokenStatus(clientId, oldSecret)).toBe(401);
	});

	it("restores a configured credential that was revoked", async () => {
		const { log } = capturingLogger();
		const creds = { clientId: "igc_boot_four", clientSecret: secret() };
		await bootstrapOperator(t.db, creds, log);
		await t.db
			.update(serviceAccounts)
			.set({ revokedAt: new Date() })
			.where(eq(serviceAccounts.clientId, creds.clientId));
		expect(await tokenStatus(creds.clientId, creds.clientSecret)).toBe(401);

		await bootstrapOperator(t.db, creds, log);
		expect(await tokenStatus(creds.clientId, creds.clientSecret)).toBe(200);
	});

	it("refuses to turn a tenant's account into an operator", async () => {
		const tenant = await t.createTenant();
		const admin = await t.principal(tenant.id, "admin");
		const { log } = capturingLogger();
		await expect(bootstrapOperator(t.db, { clientId: admin.clientId, clientSecret: secret() }, log)).rejects.toThrow(
			/tenant account/,
		);
		const [row] = await accountsWithClientId(admin.clientId);
		expect(row).toMatchObject({ role: "admin", tenantId: tenant.id });
		expect(await tokenStatus(admin.clientId, admin.clientSecret)).toBe(200);
	});
});

describe("bootstrap refuses a configuration that would do the wrong thing quietly", () => {
	const cases: [string, { clientId?: string; clientSecret?: string }][] = [
		["only the id", { clientId: "igc_half" }],
		["only the secret", { clientSecret: secret() }],
		["a short secret", { clientId: "igc_weak", clientSecret: "short" }],
		["a secret the token endpoint would refuse", { clientId: "igc_huge", clientSecret: "s".repeat(513) }],
		["an id the token endpoint would refuse", { clientId: `igc_${"i".repeat(255)}`, clientSecret: secret() }],
	];
	for (const [what, settings] of cases) {
		it(`throws on ${what}, creating nothing`, async () => {
			const before = await t.db.select({ id: serviceAccounts.id }).from(serviceAccounts);
			await expect(bootstrapOperator(t.db, settings, capturingLogger().log)).rejects.toThrow(/IGOUDAR_BOOTSTRAP/);
			expect(await t.db.select({ id: serviceAccounts.id }).from(serviceAccounts)).toHaveLength(before.length);
		});
	}
});

describe("bootstrap without a configured credential", () => {
	it("does nothing while a live operator exists", async () => {
		const { log, lines } = capturingLogger();
		const before = await t.db.select().from(serviceAccounts);
		await bootstrapOperator(t.db, {}, log);
		expect(await t.db.select().from(serviceAccounts)).toHaveLength(before.length);
		expect(lines.filter((l) => "client_secret" in l)).toHaveLength(0);
	});

	it("creates one operator when none is live, prints its credential once, and never again", async () => {
		// Revoke every operator (this is the last test: the harness's operator goes too).
		await t.db.update(serviceAccounts).set({ revokedAt: new Date() }).where(eq(serviceAccounts.role, "operator"));
		const liveOperators = () =>
			t.db
				.select()
				.from(serviceAccounts)
				.where(and(eq(serviceAccounts.role, "operator"), isNull(serviceAccounts.revokedAt)));
		expect(await liveOperators()).toHaveLength(0);

		const { log, lines } = capturingLogger();
		// Replicas starting together must still make only one.
		await Promise.all(Array.from({ length: 3 }, () => bootstrapOperator(t.db, {}, log)));
		await bootstrapOperator(t.db, {}, log);

		const created = await liveOperators();
		expect(created).toHaveLength(1);
		const printed = lines.filter((l) => typeof l.client_secret === "string");
		expect(printed).toHaveLength(1);
		const [line] = printed;
		expect(line?.client_id).toBe(created[0]?.clientId);
		expect(created[0]?.secretHash).not.toContain(String(line?.client_secret));

		// The printed credential is the working one.
		const token = await t.token(String(line?.client_id), String(line?.client_secret));
		expect((await t.request("GET", "/v1/tenants", { token })).status).toBe(200);
	});
});
