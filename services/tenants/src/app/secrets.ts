import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

const SCRYPT = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
	return new Promise((resolve, reject) =>
		scrypt(secret, salt, KEY_LENGTH, { ...params, maxmem: 64 * 1024 * 1024 }, (err, key) =>
			err ? reject(err) : resolve(key),
		),
	);
}

/** `scrypt$N$r$p$salt$hash`: the parameters travel with the hash so they can be raised later. */
export async function hashSecret(secret: string): Promise<string> {
	const salt = randomBytes(16);
	const key = await derive(secret, salt, SCRYPT);
	return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** A well-formed hash of a random secret, checked when the client id is unknown so both cases cost the same. */
let decoyHash: Promise<string> | undefined;
export function decoy(): Promise<string> {
	decoyHash ??= hashSecret(randomBytes(24).toString("base64url"));
	return decoyHash;
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
	const [scheme, n, r, p, salt, hash] = stored.split("$");
	if (scheme !== "scrypt" || !salt || !hash) return false;
	const expected = Buffer.from(hash, "base64url");
	const actual = await derive(secret, Buffer.from(salt, "base64url"), { N: Number(n), r: Number(r), p: Number(p) });
	return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function newClientId(): string {
	return `igc_${randomBytes(12).toString("hex")}`;
}

export function newClientSecret(): string {
	return `igs_${randomBytes(32).toString("base64url")}`;
}
