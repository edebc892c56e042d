import type { Db } from "@igoudar/db";
import { serviceAccounts, signingKeys, tenants } from "@igoudar/db";
import { and, eq, gt, inArray, isNull, or, sql } from "drizzle-orm";
import {
	createLocalJWKSet,
	createRemoteJWKSet,
	type JSONWebKeySet,
	type JWTVerifyGetKey,
	errors as joseErrors,
	jwtVerify,
} from "jose";
import { problems } from "./errors";
import type { Principal, Role } from "./principal";
import type { Revocations } from "./revocation";

/** Only asymmetric algorithms: `none` and HMAC (incl. HS256 keyed with a public key) never pass. */
export const TOKEN_ALGORITHMS = ["EdDSA", "ES256"];
/** The JOSE `typ` of an access token (RFC 9068); jose compares it without the `application/` prefix. */
export const ACCESS_TOKEN_TYPE = "at+jwt";

export interface TokenSettings {
	issuer: string;
	audience: string;
	/** Verify against a remote JWKS (split deployments); default reads published keys from the database. */
	jwksUrl?: string;
	/**
	 * Longest lifetime the issuer gives a token (KitConfig's, so both sides read the same setting).
	 * A token claiming to be older, or issued in the future, was not minted by our issuer.
	 */
	tokenTtlSeconds?: number;
}

/** Clock difference tolerated between the replica that signed a token and the one verifying it. */
const CLOCK_SKEW_SECONDS = 5;
const DEFAULT_MAX_TOKEN_AGE_SECONDS = 24 * 3600;

/** The keys a verifier may trust: every key not past its publication window. */
export async function publishedKeys(db: Db): Promise<JSONWebKeySet> {
	const rows = await db
		.select({ publicJwk: signingKeys.publicJwk })
		.from(signingKeys)
		.where(
			or(
				inArray(signingKeys.state, ["next", "active"]),
				and(eq(signingKeys.state, "retired"), gt(signingKeys.expiresAt, new Date())),
			),
		);
	return { keys: rows.map((r) => r.publicJwk) as unknown as JSONWebKeySet["keys"] };
}

/**
 * JWKS from the database, cached; an unknown `kid` triggers a refresh (rate-limited) so a key
 * published moments ago is picked up without waiting for the cache to age out.
 */
function databaseKeyResolver(db: Db, ttlMs = 60_000, minRefreshMs = 1_000): JWTVerifyGetKey {
	let cached: { at: number; resolve: JWTVerifyGetKey; kids: Set<string> } | undefined;
	let inflight: Promise<void> | undefined;
	const refresh = async () => {
		const jwks = await publishedKeys(db);
		cached = {
			at: Date.now(),
			resolve: createLocalJWKSet(jwks),
			kids: new Set(jwks.keys.map((k) => String(k.kid))),
		};
	};
	return async (header, token) => {
		const age = cached ? Date.now() - cached.at : Number.POSITIVE_INFINITY;
		const unknownKid = header.kid !== undefined && cached !== undefined && !cached.kids.has(header.kid);
		if (age > ttlMs || (unknownKid && age > minRefreshMs)) {
			inflight ??= refresh().finally(() => {
				inflight = undefined;
			});
			await inflight;
		}
		if (!cached) throw new joseErrors.JWKSNoMatchingKey();
		return cached.resolve(header, token);
	};
}

export interface Authenticator {
	authenticate(authorization: string | undefined): Promise<Principal>;
}

export interface AuthenticatorOptions {
	/** Where revocations and suspensions are announced; absent, cached principals only expire. */
	revocations?: Revocations;
	/**
	 * How long a principal read from the database is reused: the bound on how late a revocation or
	 * suspension takes effect on a replica that missed its notice.
	 */
	principalTtlMs?: number;
}

/** The bound on how late a revocation takes effect when its notice is lost (see design notes). */
export const PRINCIPAL_CACHE_MS = 1_000;
/** Verified tokens remembered at most; past this the oldest are forgotten and verified again. */
const MAX_CACHED_TOKENS = 10_000;

type AccountRow = Omit<Principal, "tokenId">;

/**
 * Verifies bearer tokens and resolves the calling account. Both are cached: a verified token
 * until it expires (its signature and claims cannot change), the account and its tenant's status
 * for at most `principalTtlMs`, and dropped at once when a revocation notice names them.
 */
export function createAuthenticator(
	db: Db,
	settings: TokenSettings,
	options: AuthenticatorOptions = {},
): Authenticator {
	const getKey = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : databaseKeyResolver(db);
	const principalTtlMs = options.principalTtlMs ?? PRINCIPAL_CACHE_MS;
	// Prepared once: the account read runs on every request whose principal is not cached.
	const accountQuery = db
		.select({
			id: serviceAccounts.id,
			clientId: serviceAccounts.clientId,
			role: serviceAccounts.role,
			tenantId: serviceAccounts.tenantId,
			tenantStatus: tenants.status,
		})
		.from(serviceAccounts)
		.leftJoin(tenants, eq(tenants.id, serviceAccounts.tenantId))
		.where(and(eq(serviceAccounts.id, sql.placeholder("id")), isNull(serviceAccounts.revokedAt)))
		.limit(1)
		.prepare("auth_account");

	const tokens = new Map<string, { sub: string; jti: string; expiresAt: number }>();
	const accounts = new Map<string, { row: AccountRow; expiresAt: number }>();
	const reading = new Map<string, Promise<AccountRow | undefined>>();
	// Bumped by every notice: a read that started before a notice must not refill the cache.
	let generation = 0;
	options.revocations?.subscribe((notice) => {
		generation += 1;
		// Reads under way may predate the change: later requests start their own.
		reading.clear();
		if ("accountId" in notice) {
			accounts.delete(notice.accountId);
			return;
		}
		for (const [id, entry] of accounts) if (entry.row.tenantId === notice.tenantId) accounts.delete(id);
	});

	const verify = async (token: string) => {
		const cached = tokens.get(token);
		if (cached && cached.expiresAt > Date.now()) return cached;
		if (cached) tokens.delete(token);
		let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
		try {
			({ payload } = await jwtVerify(token, getKey, {
				algorithms: TOKEN_ALGORITHMS,
				issuer: settings.issuer,
				audience: settings.audience,
				// RFC 9068: an access token says so, so no other JWT from this issuer passes as one.
				typ: ACCESS_TOKEN_TYPE,
				requiredClaims: ["sub", "exp", "iat", "jti"],
				maxTokenAge: settings.tokenTtlSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS,
				clockTolerance: CLOCK_SKEW_SECONDS,
			}));
		} catch {
			throw problems.unauthenticated("The bearer token is invalid or expired.");
		}
		const verified = { sub: String(payload.sub), jti: String(payload.jti), expiresAt: Number(payload.exp) * 1000 };
		if (tokens.size >= MAX_CACHED_TOKENS) {
			const oldest = tokens.keys().next().value;
			if (oldest !== undefined) tokens.delete(oldest);
		}
		tokens.set(token, verified);
		return verified;
	};

	const readAccount = (id: string): Promise<AccountRow | undefined> => {
		const cached = accounts.get(id);
		if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.row);
		const inflight = reading.get(id);
		if (inflight) return inflight;
		const startedAt = Date.now();
		const startedGeneration = generation;
		const read = accountQuery
			.execute({ id })
			.then(([row]) => {
				const account = row ? { ...row, role: row.role as Role } : undefined;
				// Counted from before the read: the row may be that old when it is used last.
				if (account && generation === startedGeneration) {
					accounts.set(id, { row: account, expiresAt: startedAt + principalTtlMs });
				}
				return account;
			})
			.finally(() => {
				if (reading.get(id) === read) reading.delete(id);
			});
		reading.set(id, read);
		return read;
	};

	return {
		async authenticate(authorization) {
			const match = authorization ? /^Bearer ([A-Za-z0-9\-_.]+)$/i.exec(authorization.trim()) : null;
			if (!match?.[1]) throw problems.unauthenticated();
			const token = await verify(match[1]);
			const account = await readAccount(token.sub);
			if (!account) throw problems.unauthenticated("The bearer token's account is revoked.");
			return { ...account, tokenId: token.jti };
		},
	};
}
