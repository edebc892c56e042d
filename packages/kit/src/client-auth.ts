import type { FastifyRequest } from "fastify";

/** Client credentials sent in an `Authorization: Basic` header (RFC 6749 2.3.1). */
export interface BasicClientCredentials {
	clientId: string;
	clientSecret: string;
}

/**
 * What the Authorization header of a token request says: nothing, Basic credentials, Basic
 * credentials that cannot be read, or another scheme (not a client authentication we support).
 */
export type ClientAuthHeader =
	| { kind: "none" }
	| { kind: "basic"; credentials: BasicClientCredentials }
	| { kind: "malformed" }
	| { kind: "other-scheme" };

// The same bounds the JSON and form bodies have, so the header is no way around them.
const MAX_CLIENT_ID = 255;
const MAX_CLIENT_SECRET = 512;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** application/x-www-form-urlencoded decoding, which RFC 6749 2.3.1 applies to both halves. */
function formDecode(value: string): string | undefined {
	try {
		return decodeURIComponent(value.replaceAll("+", " "));
	} catch {
		return undefined;
	}
}

function readable(value: string | undefined, max: number): value is string {
	// Control characters (NUL above all) can never be in an id or a secret we issued.
	// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
	return value !== undefined && value.length > 0 && value.length <= max && !/[\u0000-\u001f\u007f]/.test(value);
}

export function parseClientAuthHeader(header: string | undefined): ClientAuthHeader {
	if (header === undefined || header === "") return { kind: "none" };
	const match = /^([A-Za-z]+) +(\S*) *$/.exec(header);
	if (!match) return { kind: "malformed" };
	const [, scheme = "", encoded = ""] = match;
	if (scheme.toLowerCase() !== "basic") return { kind: "other-scheme" };
	if (!BASE64.test(encoded) || encoded.length % 4 !== 0) return { kind: "malformed" };
	const decoded = Buffer.from(encoded, "base64").toString("utf8");
	const colon = decoded.indexOf(":");
	if (colon < 0) return { kind: "malformed" };
	const clientId = formDecode(decoded.slice(0, colon));
	const clientSecret = formDecode(decoded.slice(colon + 1));
	if (!readable(clientId, MAX_CLIENT_ID) || !readable(clientSecret, MAX_CLIENT_SECRET)) return { kind: "malformed" };
	return { kind: "basic", credentials: { clientId, clientSecret } };
}

/**
 * The client id a token request names, by whichever method it authenticates with: the Basic
 * header when it carries one, else the body's `client_id`. Rate limits key on it, so a client
 * using Basic is counted under its own id exactly as one using the body is.
 */
export function tokenRequestClientId(request: FastifyRequest): string | undefined {
	const header = parseClientAuthHeader(request.headers.authorization);
	if (header.kind === "basic") return header.credentials.clientId;
	const clientId = (request.body as { client_id?: unknown } | undefined)?.client_id;
	return typeof clientId === "string" && clientId !== "" ? clientId : undefined;
}
