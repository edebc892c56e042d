import type { Db } from "@igoudar/db";
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { v7 as uuidv7 } from "uuid";
import {
	deleteExpiredSigningKeys,
	findActiveSigningKey,
	insertSigningKey,
	listSigningKeys,
	promoteSigningKey,
	withKeySetLock,
} from "../db/signing-keys";
import { createKeySealer, type KeySealer } from "./key-sealing";

/** Reads plain keys, and says what to do when it meets sealed ones. */
const unsealed = createKeySealer(undefined);

export const SIGNING_ALG = "EdDSA";

export interface KeyPolicy {
	/** How long a key signs before it is rotated out. */
	rotateAfterMs: number;
	/**
	 * How long a key is published before it may sign: longer than any verifier's JWKS cache, so no
	 * verifier ever sees a token signed by a key it has not fetched.
	 */
	publishLeadMs: number;
	/** Longest token lifetime: a retired key stays published this long (plus skew). */
	tokenTtlMs: number;
	/** Seals private keys at rest; absent means stored plain. */
	sealer?: KeySealer;
}

async function newKeyRow(state: "next" | "active", now: Date, sealer: KeySealer | undefined) {
	const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { crv: "Ed25519", extractable: true });
	const kid = uuidv7();
	const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALG, use: "sig" };
	const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALG };
	return {
		kid,
		alg: SIGNING_ALG,
		state,
		publicJwk,
		privateJwk: sealer ? sealer.seal(privateJwk) : privateJwk,
		createdAt: now,
		activatedAt: state === "active" ? now : null,
	};
}

/**
 * Keeps the key set healthy: one active key, one published successor, rotation when the active key
 * is due and its successor has been published long enough, and expired keys removed. Safe to call
 * from every replica, as often as wanted.
 */
export async function maintainSigningKeys(db: Db, policy: KeyPolicy, now = new Date()): Promise<{ rotated: boolean }> {
	return withKeySetLock(db, async (tx) => {
		const keys = await listSigningKeys(tx);
		let active = keys.find((k) => k.state === "active");
		let next = keys.find((k) => k.state === "next");
		let rotated = false;
		if (!active) {
			// First start: there is no earlier key whose tokens could be confused, so sign at once.
			const row = await newKeyRow("active", now, policy.sealer);
			await insertSigningKey(tx, row);
			active = { ...row, retiredAt: null, expiresAt: null };
		} else if (
			next &&
			now.getTime() - (active.activatedAt ?? active.createdAt).getTime() >= policy.rotateAfterMs &&
			now.getTime() - next.createdAt.getTime() >= policy.publishLeadMs
		) {
			// Published until the last token it signed has expired (plus a minute of clock skew).
			await promoteSigningKey(tx, active.kid, next.kid, now, new Date(now.getTime() + policy.tokenTtlMs + 60_000));
			next = undefined;
			rotated = true;
		}
		if (!next) await insertSigningKey(tx, await newKeyRow("next", now, policy.sealer));
		await deleteExpiredSigningKeys(tx, now);
		return { rotated };
	});
}

export interface TokenClaims {
	sub: string;
	tenant_id: string | null;
	role: string;
	client_id: string;
}

/** Signs with the active key, re-reading it when it may have rotated. */
export class TokenSigner {
	private cached?: { kid: string; key: CryptoKey | Uint8Array; at: number };

	constructor(
		private readonly db: Db,
		private readonly settings: { issuer: string; audience: string; ttlSeconds: number; sealer?: KeySealer },
	) {}

	private async activeKey(): Promise<{ kid: string; key: CryptoKey | Uint8Array }> {
		if (this.cached && Date.now() - this.cached.at < 10_000) return this.cached;
		const row = await findActiveSigningKey(this.db);
		if (!row) throw new Error("no active signing key: maintainSigningKeys has not run");
		if (this.cached?.kid !== row.kid) {
			this.cached = {
				kid: row.kid,
				key: await importJWK((this.settings.sealer ?? unsealed).open(row.privateJwk) as JWK, SIGNING_ALG),
				at: Date.now(),
			};
		} else {
			this.cached.at = Date.now();
		}
		return this.cached;
	}

	async sign(claims: TokenClaims): Promise<{ token: string; expiresIn: number }> {
		const { kid, key } = await this.activeKey();
		const token = await new SignJWT({ tenant_id: claims.tenant_id, role: claims.role, client_id: claims.client_id })
			.setProtectedHeader({ alg: SIGNING_ALG, kid, typ: "at+jwt" })
			.setIssuer(this.settings.issuer)
			.setAudience(this.settings.audience)
			.setSubject(claims.sub)
			.setIssuedAt()
			.setExpirationTime(`${this.settings.ttlSeconds}s`)
			.setJti(uuidv7())
			.sign(key);
		return { token, expiresIn: this.settings.ttlSeconds };
	}
}
