import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto";

/**
 * Private signing keys at rest. With a secret configured they are stored sealed (AES-256-GCM,
 * the key derived from the secret with scrypt), so a database dump alone cannot mint tokens.
 * Without one they are stored as plain JWKs: fine for a laptop, logged at start, refused in
 * production (`enforceKeySealing`).
 */
export interface SealedJwk {
	sealed: "A256GCM";
	iv: string;
	tag: string;
	ct: string;
}

export interface KeySealer {
	seal(jwk: Record<string, unknown>): Record<string, unknown>;
	open(stored: Record<string, unknown>): Record<string, unknown>;
}

export function isSealed(stored: Record<string, unknown>): stored is Record<string, unknown> & SealedJwk {
	return stored.sealed === "A256GCM";
}

/** Keys stored before a secret was configured stay readable, so turning sealing on needs no migration. */
export function createKeySealer(secret: string | undefined): KeySealer {
	if (secret !== undefined && secret.length < 32) {
		throw new Error("IGOUDAR_KEY_ENCRYPTION_SECRET must be at least 32 characters");
	}
	const key = secret ? scryptSync(secret, "igoudar/signing-keys/v1", 32) : undefined;
	return {
		seal(jwk) {
			if (!key) return jwk;
			const iv = randomBytes(12);
			const cipher = createCipheriv("aes-256-gcm", key, iv);
			const ct = Buffer.concat([cipher.update(JSON.stringify(jwk), "utf8"), cipher.final()]);
			const sealed: SealedJwk = {
				sealed: "A256GCM",
				iv: iv.toString("base64url"),
				tag: cipher.getAuthTag().toString("base64url"),
				ct: ct.toString("base64url"),
			};
			return { ...sealed };
		},
		open(stored) {
			if (!isSealed(stored)) return stored;
			if (!key) {
				throw new Error(
					"the signing keys are sealed: set IGOUDAR_KEY_ENCRYPTION_SECRET to the secret that sealed them",
				);
			}
			const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(stored.iv, "base64url"));
			decipher.setAuthTag(Buffer.from(stored.tag, "base64url"));
			const plain = Buffer.concat([decipher.update(Buffer.from(stored.ct, "base64url")), decipher.final()]);
			return JSON.parse(plain.toString("utf8")) as Record<string, unknown>;
		},
	};
}
