import type { Db } from "@igoudar/db";
import { serviceAccounts, signingKeys, tenants } from "@igoudar/db";
import { and, eq, gt, inArray, isNull, or } from "drizzle-orm";
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

export function createAuthenticator(db: Db, settings: TokenSettings): Authenticator {
	const getKey = settings.jwksUrl ? createRemoteJWKSet(new URL(settings.jwksUrl)) : databaseKeyResolver(db);
	return {
		async authenticate(authorization) {
			const match = authorization ? /^Bearer ([A-Za-z0-9\-_.]+)$/i.exec(authorization.trim()) : null;
			if (!match?.[1]) throw problems.unauthenticated();
			let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
			try {
				({ payload } = await jwtVerify(match[1], getKey, {
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
			// The account is re-read on every request so revocation and suspension apply at once.
			const [account] = await db
				.select({
					id: serviceAccounts.id,
					clientId: serviceAccounts.clientId,
					role: serviceAccounts.role,
					tenantId: serviceAccounts.tenantId,
					tenantStatus: tenants.status,
				})
				.from(serviceAccounts)
				.leftJoin(tenants, eq(tenants.id, serviceAccounts.tenantId))
				.where(and(eq(serviceAccounts.id, String(payload.sub)), isNull(serviceAccounts.revokedAt)))
				.limit(1);
			if (!account) throw problems.unauthenticated("The bearer token's account is revoked.");
			return {
				id: account.id,
				clientId: account.clientId,
				role: account.role as Role,
				tenantId: account.tenantId,
				tenantStatus: account.tenantStatus,
				tokenId: String(payload.jti),
			};
		},
	};
}
