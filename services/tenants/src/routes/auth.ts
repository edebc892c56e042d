import formbody from "@fastify/formbody";
import { type App, namedSchema, parseClientAuthHeader, publishedKeys, resourceSchema } from "@igoudar/kit";
import type { FastifyRequest } from "fastify";
import { Type } from "typebox";
import { tokenIssue } from "../app/tokens";
import type { TenantsDeps } from "../deps";
import { authorizationServerMetadataRoute } from "./oauth-metadata";
import { sendTokenError, tokenErrorResponses, tokenErrors } from "./token-errors";

const TokenRequest = namedSchema(
	"TokenRequest",
	Type.Object(
		{
			grant_type: Type.Literal("client_credentials"),
			client_id: Type.Optional(
				Type.String({
					minLength: 1,
					maxLength: 255,
					description: "With client_secret_post; with Basic, only if equal.",
				}),
			),
			client_secret: Type.Optional(
				Type.String({ minLength: 1, maxLength: 512, description: "client_secret_post; never together with Basic." }),
			),
			scope: Type.Optional(Type.String({ maxLength: 1024, description: "Accepted and ignored: roles decide." })),
		},
		{ additionalProperties: false },
	),
	{
		grant_type: "client_credentials",
		client_id: "igc_5f1c9a0be27d4c83a6f01b92",
		client_secret: "igs_q8Vd3kP0xN7rT2mW5yL9cB4hJ6fG1sA0eZ3uR8oI2nQ",
	},
);

const TokenResponse = resourceSchema(
	"Token",
	Type.Object(
		{
			access_token: Type.String(),
			token_type: Type.Literal("Bearer"),
			expires_in: Type.Integer({ description: "Seconds until the token expires." }),
		},
		{ additionalProperties: false },
	),
	{
		access_token: "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjYtMTEifQ.eyJzdWIiOiIwMTkzYTRmMiJ9.c2lnbmF0dXJl",
		token_type: "Bearer",
		expires_in: 900,
	},
);

const Jwks = resourceSchema(
	"JsonWebKeySet",
	Type.Object(
		{
			keys: Type.Array(
				Type.Object(
					{
						kty: Type.String(),
						kid: Type.Optional(Type.String()),
						alg: Type.Optional(Type.String()),
						use: Type.Optional(Type.String()),
						crv: Type.Optional(Type.String()),
						x: Type.Optional(Type.String()),
						y: Type.Optional(Type.String()),
					},
					{ additionalProperties: false },
				),
			),
		},
		{ additionalProperties: false },
	),
	{
		keys: [
			{
				kty: "EC",
				kid: "0193a400-0000-7000-8000-000000000001",
				alg: "ES256",
				use: "sig",
				crv: "P-256",
				x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
				y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
			},
		],
	},
);

type TokenRequestBody = { client_id?: string; client_secret?: string };

/**
 * The client's credentials by the one method it used (RFC 6749 2.3.1): HTTP Basic or the body.
 * Two methods at once is refused (RFC 6749 2.3), as is a body client_id naming another client.
 */
export function clientCredentials(request: FastifyRequest): { client_id: string; client_secret: string } {
	const body = (request.body ?? {}) as TokenRequestBody;
	const header = parseClientAuthHeader(request.headers.authorization);
	switch (header.kind) {
		case "other-scheme":
			throw tokenErrors.invalidClient("Authenticate the client with HTTP Basic or client_secret in the body.");
		case "malformed":
			throw tokenErrors.invalidRequest("The Authorization header is not valid HTTP Basic client credentials.");
		case "basic": {
			const { clientId, clientSecret } = header.credentials;
			if (body.client_secret !== undefined) {
				throw tokenErrors.invalidRequest(
					"Use one client authentication method: HTTP Basic or client_secret in the body.",
				);
			}
			if (body.client_id !== undefined && body.client_id !== clientId) {
				throw tokenErrors.invalidRequest("The body's client_id differs from the HTTP Basic client id.");
			}
			return { client_id: clientId, client_secret: clientSecret };
		}
		case "none": {
			const { client_id, client_secret } = body;
			if (client_id === undefined && client_secret === undefined) {
				throw tokenErrors.invalidClient("No client authentication: use HTTP Basic or client_id and client_secret.");
			}
			if (client_id === undefined || client_secret === undefined) {
				const missing = client_id === undefined ? "client_id" : "client_secret";
				throw tokenErrors.invalidRequest("The request does not match the schema.", [
					{ field: `body/${missing}`, message: "is required" },
				]);
			}
			return { client_id, client_secret };
		}
	}
}

export async function authRoutes(app: App, deps: TenantsDeps): Promise<void> {
	// Form bodies are accepted here only, as OAuth clients send them; every other route takes JSON.
	await app.register(formbody);

	app.post(
		"/v1/auth/token",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Exchange service-account credentials for an access token",
				description:
					"OAuth 2.0 client-credentials grant, as JSON or application/x-www-form-urlencoded. The client authenticates " +
					"with HTTP Basic (client_secret_basic, RFC 6749 2.3.1: base64 of the form-urlencoded id and secret) or " +
					"with client_id and client_secret in the body (client_secret_post), never both. Errors are RFC 6749 5.2 " +
					"JSON (`error`, `error_description`) carrying the problem fields too; 401 invalid_client answers a " +
					'`WWW-Authenticate: Basic realm="igoudar"` challenge when the client sent an Authorization header.',
				operationId: "authToken",
				consumes: ["application/json", "application/x-www-form-urlencoded"],
				tags: ["auth"],
				body: TokenRequest,
				response: { 200: TokenResponse, ...tokenErrorResponses() },
			},
			// Every refusal of this route, from its hooks and body parsers too, in the form OAuth clients read.
			errorHandler: sendTokenError,
		},
		async (request, reply) => {
			reply.header("cache-control", "no-store");
			const credentials = clientCredentials(request);
			return tokenIssue(deps.db, deps.signer, credentials, { requestId: request.id, sourceAddress: request.ip });
		},
	);

	authorizationServerMetadataRoute(app, deps);

	app.get(
		"/.well-known/jwks.json",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Public keys that verify access tokens",
				operationId: "authJwks",
				tags: ["auth"],
				response: { 200: Jwks },
			},
		},
		async (_request, reply) => {
			reply.header("cache-control", "public, max-age=60");
			const jwks = await publishedKeys(deps.db);
			return {
				keys: jwks.keys.map((k) => ({
					kty: String(k.kty),
					kid: k.kid,
					alg: k.alg,
					use: k.use,
					crv: k.crv,
					x: k.x,
					y: k.y,
				})),
			};
		},
	);
}
