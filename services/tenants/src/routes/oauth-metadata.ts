import { type App, resourceSchema } from "@igoudar/kit";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { TenantsDeps } from "../deps";

export const METADATA_PATH = "/.well-known/oauth-authorization-server";

const AuthorizationServerMetadata = resourceSchema(
	"AuthorizationServerMetadata",
	Type.Object(
		{
			issuer: Type.String({ description: "IGOUDAR_ISSUER: the `iss` of every access token." }),
			token_endpoint: Type.String({ format: "uri" }),
			jwks_uri: Type.String({ format: "uri" }),
			grant_types_supported: Type.Array(Type.String()),
			token_endpoint_auth_methods_supported: Type.Array(Type.String()),
			response_types_supported: Type.Array(Type.String(), {
				description: "Empty: there is no authorization endpoint, so no response type is supported.",
			}),
		},
		{ additionalProperties: false, description: "RFC 8414 authorization server metadata." },
	),
	{
		issuer: "https://api.dakhla.igoudar.ma",
		token_endpoint: "https://api.dakhla.igoudar.ma/v1/auth/token",
		jwks_uri: "https://api.dakhla.igoudar.ma/.well-known/jwks.json",
		grant_types_supported: ["client_credentials"],
		token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
		response_types_supported: [],
	},
);

/**
 * Where this deployment is reached: IGOUDAR_PUBLIC_URL when set; else the request's own scheme and
 * host, which Fastify takes from X-Forwarded-Proto and -Host only when a trusted proxy sent them.
 */
function publicBase(request: FastifyRequest, deps: TenantsDeps): string {
	if (deps.oauth.publicUrl) return deps.oauth.publicUrl.replace(/\/+$/, "");
	try {
		return new URL(`${request.protocol}://${request.host}`).origin;
	} catch {
		// No usable Host header (HTTP/1.0, garbage): the issuer is the best guess at our address.
		return new URL(deps.oauth.issuer).origin;
	}
}

/**
 * RFC 8414 metadata, so OAuth clients discover the token endpoint and its authentication methods
 * instead of being configured by hand. Public, like the JWKS it points to.
 */
export function authorizationServerMetadataRoute(app: App, deps: TenantsDeps): void {
	app.get(
		METADATA_PATH,
		{
			config: { access: { public: true } },
			schema: {
				summary: "OAuth 2.0 authorization server metadata (RFC 8414)",
				description:
					"The issuer, the token endpoint and the JWKS URI, the client_credentials grant, and the two client " +
					"authentication methods (client_secret_basic, client_secret_post). URLs are built from IGOUDAR_PUBLIC_URL " +
					"when it is set, else from the request's scheme and host.",
				operationId: "authServerMetadata",
				tags: ["auth"],
				response: { 200: AuthorizationServerMetadata },
			},
		},
		async (request, reply) => {
			// Built from the Host header when no public URL is configured: no shared cache may keep it.
			reply.header("cache-control", deps.oauth.publicUrl ? "public, max-age=300" : "no-store");
			const base = publicBase(request, deps);
			return {
				issuer: deps.oauth.issuer,
				token_endpoint: `${base}/v1/auth/token`,
				jwks_uri: `${base}/.well-known/jwks.json`,
				grant_types_supported: ["client_credentials"],
				token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
				response_types_supported: [],
			};
		},
	);
}
