import formbody from "@fastify/formbody";
import { type App, errorResponses, publishedKeys } from "@igoudar/kit";
import { Type } from "typebox";
import { tokenIssue } from "../app/tokens";
import type { TenantsDeps } from "../deps";

const TokenRequest = Type.Object(
	{
		grant_type: Type.Literal("client_credentials"),
		client_id: Type.String({ minLength: 1, maxLength: 255 }),
		client_secret: Type.String({ minLength: 1, maxLength: 512 }),
		scope: Type.Optional(Type.String({ maxLength: 1024, description: "Accepted and ignored: roles decide." })),
	},
	{ additionalProperties: false },
);

const TokenResponse = Type.Object(
	{
		access_token: Type.String(),
		token_type: Type.Literal("Bearer"),
		expires_in: Type.Integer({ description: "Seconds until the token expires." }),
	},
	{ additionalProperties: false },
);

const Jwks = Type.Object(
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
);

export async function authRoutes(app: App, deps: TenantsDeps): Promise<void> {
	// Form bodies are accepted here only, as OAuth clients send them; every other route takes JSON.
	await app.register(formbody);

	app.post(
		"/v1/auth/token",
		{
			config: { access: { public: true } },
			schema: {
				summary: "Exchange service-account credentials for an access token",
				description: "OAuth 2.0 client-credentials grant, as JSON or application/x-www-form-urlencoded.",
				operationId: "authToken",
				consumes: ["application/json", "application/x-www-form-urlencoded"],
				tags: ["auth"],
				body: TokenRequest,
				response: { 200: TokenResponse, ...errorResponses("unauthenticated") },
			},
		},
		async (request, reply) => {
			reply.header("cache-control", "no-store");
			return tokenIssue(deps.db, deps.signer, request.body, { requestId: request.id, sourceAddress: request.ip });
		},
	);

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
