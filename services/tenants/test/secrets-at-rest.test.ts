import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serviceAccounts, signingKeys } from "@igoudar/db";
import { TestPlatform, useTestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { bootstrapOperator } from "../src/app/bootstrap";

const SECRET = `kek-${randomBytes(24).toString("hex")}`;

// A laptop start: no secret, so its signing keys are stored in the clear.
const t = useTestPlatform();

function capturingLogger(): { log: FastifyBaseLogger; text: () => string } {
	const lines: string[] = [];
	const destination = { write: (line: string) => void lines.push(line) };
	return { log: pino({ level: "info" }, destination) as unknown as FastifyBaseLogger, text: () => lines.join("") };
}

/** Another platform on the same database, as a restart with other settings would be. */
function restart(env: NodeJS.ProcessEnv): Promise<TestPlatform> {
	return TestPlatform.start({ databaseUrl: t.database.url, env });
}

async function storedKeys() {
	return t.db.select({ kid: signingKeys.kid, privateJwk: signingKeys.privateJwk }).from(signingKeys);
}

// First: the production tests replace the keys under this platform's feet, as they would under a
// replica that was not restarted, and its cached signing key stops being one that verifies.
describe("IGOUDAR_BOOTSTRAP_CREDENTIAL_FILE", () => {
	it("receives the first operator credential with mode 0600, and the log never sees the secret", async () => {
		await t.db.update(serviceAccounts).set({ revokedAt: new Date() }).where(eq(serviceAccounts.role, "operator"));
		const dir = mkdtempSync(join(tmpdir(), "igoudar-credential-"));

		// Where it cannot be written, the start fails and no operator is made whose secret is lost.
		const unwritable = join(dir, "missing-dir", "operator.json");
		await expect(bootstrapOperator(t.db, { credentialFile: unwritable }, capturingLogger().log)).rejects.toThrow(
			/IGOUDAR_BOOTSTRAP_CREDENTIAL_FILE: cannot write/,
		);
		const live = await t.db.select().from(serviceAccounts).where(eq(serviceAccounts.role, "operator"));
		expect(live.filter((a) => a.revokedAt === null)).toHaveLength(0);

		// A file already there (world-readable, say) is replaced by a private one.
		const file = join(dir, "operator.json");
		writeFileSync(file, "stale", { mode: 0o644 });
		const { log, text } = capturingLogger();
		await bootstrapOperator(t.db, { credentialFile: file }, log);

		expect(statSync(file).mode & 0o777).toBe(0o600);
		const credential = JSON.parse(readFileSync(file, "utf8")) as { client_id: string; client_secret: string };
		expect(credential.client_secret).toMatch(/^igs_/);
		expect(text()).not.toContain(credential.client_secret);
		expect(text()).toContain(credential.client_id);
		expect(text()).toContain(file);

		const token = await t.token(credential.client_id, credential.client_secret);
		expect((await t.request("GET", "/v1/tenants", { token })).status).toBe(200);
	});
});

describe("NODE_ENV=production", () => {
	it("refuses to start without IGOUDAR_KEY_ENCRYPTION_SECRET", async () => {
		await expect(TestPlatform.start({ env: { NODE_ENV: "production" } })).rejects.toThrow(
			/NODE_ENV=production needs IGOUDAR_KEY_ENCRYPTION_SECRET/,
		);
	});

	it("refuses to start while signing keys are stored unsealed, naming them and the way out", async () => {
		const plain = await storedKeys();
		expect(plain.length).toBeGreaterThan(0);
		expect(plain.every((k) => k.privateJwk.sealed === undefined)).toBe(true);
		const refusal = restart({ NODE_ENV: "production", IGOUDAR_KEY_ENCRYPTION_SECRET: SECRET });
		await expect(refusal).rejects.toThrow(/refuses to run with \d+ token signing key\(s\) stored unsealed/);
		await expect(refusal).rejects.toThrow(/IGOUDAR_REPLACE_UNSEALED_KEYS=true/);
		for (const key of plain) await expect(refusal).rejects.toThrow(key.kid);
		// Refusing changed nothing.
		expect(await storedKeys()).toEqual(plain);
	});

	it("replaces unsealed keys when told to: only sealed keys remain and tokens they signed stop working", async () => {
		const oldToken = await t.operatorToken();
		await expect(restart({ IGOUDAR_REPLACE_UNSEALED_KEYS: "true" })).rejects.toThrow(
			/IGOUDAR_REPLACE_UNSEALED_KEYS needs IGOUDAR_KEY_ENCRYPTION_SECRET/,
		);
		const replaced = await restart({
			NODE_ENV: "production",
			IGOUDAR_KEY_ENCRYPTION_SECRET: SECRET,
			IGOUDAR_REPLACE_UNSEALED_KEYS: "true",
		});
		try {
			const keys = await storedKeys();
			expect(keys.length).toBeGreaterThan(0);
			expect(keys.every((k) => k.privateJwk.sealed === "A256GCM")).toBe(true);
			expect((await replaced.request("GET", "/v1/tenants", { token: oldToken })).status).toBe(401);
			const fresh = await replaced.operatorToken();
			expect((await replaced.request("GET", "/v1/tenants", { token: fresh })).status).toBe(200);
		} finally {
			await replaced.close();
		}
		// From now on production starts without being told anything.
		const next = await restart({ NODE_ENV: "production", IGOUDAR_KEY_ENCRYPTION_SECRET: SECRET });
		await next.close();
	});
});
