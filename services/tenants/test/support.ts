import { randomBytes, randomUUID } from "node:crypto";
import { serviceAccounts, signingKeys } from "@igoudar/db";
import { type InjectResult, TEST_OPERATOR, type TestPlatform } from "@igoudar/server/testing";
import { eq } from "drizzle-orm";
import { type CryptoKey, importJWK, type JWK, SignJWT } from "jose";
import { expect } from "vitest";

export interface ProblemBody {
	type: string;
	title: string;
	status: number;
	detail?: string;
	code: string;
	request_id?: string;
	errors?: { field?: string; message?: string }[];
}

/**
 * Every refusal must be a well-formed problem: the stable code, the matching status, the problem
 * media type, and a request id that lets an operator find the log line (the same as the header).
 */
export function expectProblem(res: InjectResult<unknown>, status: number, code: string): ProblemBody {
	const body = res.body as ProblemBody;
	expect({ status: res.status, code: body?.code }, JSON.stringify(res.body)).toEqual({ status, code });
	// The token route answers OAuth clients: RFC 6749 JSON (`error`) with the problem fields riding along.
	const oauth = typeof (res.body as { error?: unknown } | undefined)?.error === "string";
	expect(String(res.headers["content-type"])).toMatch(oauth ? /^application\/json/ : /^application\/problem\+json/);
	expect(body.status).toBe(status);
	expect(typeof body.type).toBe("string");
	expect(typeof body.title).toBe("string");
	expect(body.request_id).toBeTruthy();
	expect(body.request_id).toBe(res.headers["x-request-id"]);
	return body;
}

/** The field pointers an answer's `errors[]` names. */
export function fieldsOf(res: InjectResult<unknown>): string[] {
	return ((res.body as ProblemBody).errors ?? []).map((e) => String(e.field));
}

export function uniqueName(prefix: string): string {
	return `${prefix}-${randomBytes(4).toString("hex")}`;
}

/** Replaces `:tenant_id` with the given tenant and every other path parameter with a random UUID. */
export function fillPath(url: string, tenantId: string): string {
	return url.replace(/:([A-Za-z_]+)/g, (_match, name: string) => (name === "tenant_id" ? tenantId : randomUUID()));
}

/** The service account the platform bootstrapped for TEST_OPERATOR. */
export async function testOperatorAccount(t: TestPlatform): Promise<typeof serviceAccounts.$inferSelect> {
	const [account] = await t.db
		.select()
		.from(serviceAccounts)
		.where(eq(serviceAccounts.clientId, TEST_OPERATOR.clientId));
	if (!account) throw new Error("the platform did not bootstrap its test operator");
	return account;
}

export interface ActiveKey {
	kid: string;
	key: CryptoKey | Uint8Array;
}

/** The key the server signs with, read from the database, so tests can mint tokens with chosen claims. */
export async function activeSigningKey(t: TestPlatform): Promise<ActiveKey> {
	const [row] = await t.db.select().from(signingKeys).where(eq(signingKeys.state, "active"));
	if (!row) throw new Error("no active signing key");
	return { kid: row.kid, key: await importJWK(row.privateJwk as JWK, "EdDSA") };
}

export interface ClaimOverrides {
	sub?: string;
	iss?: string;
	aud?: string;
	/** Seconds since the epoch. */
	exp?: number;
	iat?: number;
	jti?: string | null;
	/** The JOSE header `typ`; null leaves it out. */
	typ?: string | null;
}

/** Signs a token with the real active key; only the claims named in `overrides` differ from a valid one. */
export async function mintToken(t: TestPlatform, signer: ActiveKey, overrides: ClaimOverrides = {}): Promise<string> {
	const now = Math.floor(Date.now() / 1000);
	const jwt = new SignJWT({ tenant_id: null, role: "operator" })
		.setProtectedHeader({
			alg: "EdDSA",
			kid: signer.kid,
			...(overrides.typ === null ? {} : { typ: overrides.typ ?? "at+jwt" }),
		})
		.setIssuer(overrides.iss ?? t.config.kit.issuer)
		.setAudience(overrides.aud ?? t.config.kit.audience)
		.setIssuedAt(overrides.iat ?? now)
		.setExpirationTime(overrides.exp ?? now + 300);
	if (overrides.jti !== null) jwt.setJti(overrides.jti ?? randomUUID());
	if (overrides.sub !== undefined) jwt.setSubject(overrides.sub);
	return jwt.sign(signer.key);
}
