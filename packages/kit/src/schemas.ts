import { type TSchema, Type } from "typebox";
import type { ProblemCode } from "./errors";
import { problemCodeList, statusOf } from "./errors";

/** Shared schema ids: registered once with app.addSchema and named so in the spec. */
export const PROBLEM_SCHEMA_ID = "Problem";

export const ProblemSchema = Type.Object(
	{
		type: Type.String({ description: "URI identifying the problem type." }),
		title: Type.String(),
		status: Type.Integer(),
		detail: Type.Optional(Type.String()),
		code: Type.String({ description: `Stable machine-readable error code: ${problemCodeList()}.` }),
		request_id: Type.Optional(Type.String()),
		errors: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
	},
	{ $id: PROBLEM_SCHEMA_ID, description: "RFC 9457 problem details.", additionalProperties: false },
);

export const Uuid = (description?: string) => Type.String({ format: "uuid", description });
export const Timestamp = (description?: string) => Type.String({ format: "date-time", description });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const NAME_PATTERN = "^[a-z][a-z0-9-]{0,62}$";
export const Name = (description = "Lowercase name, unique per tenant and resource type.") =>
	Type.String({ pattern: NAME_PATTERN, minLength: 1, maxLength: 63, description });

/** ISO 3166-1 alpha-2 jurisdiction code. */
export const Jurisdiction = Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2 code." });

export const TenantParams = Type.Object({ tenant_id: Uuid("Tenant id.") }, { additionalProperties: false });

/** Every route names its error answers so the spec and the serializer know their shape. */
export function errorResponses(...codes: ProblemCode[]): Record<number, unknown> {
	const out: Record<number, unknown> = {};
	for (const code of codes) {
		const status = statusOf(code);
		const existing = out[status] as { description: string } | undefined;
		out[status] = {
			description: existing ? `${existing.description}, ${code}` : code,
			content: { "application/problem+json": { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } },
		};
	}
	return out;
}

/** Errors any authenticated route can answer. */
export const commonErrors: ProblemCode[] = [
	"validation_failed",
	"unauthenticated",
	"forbidden",
	"rate_limited",
	"internal",
];

export const ListQuery = Type.Object(
	{
		limit: Type.Optional(
			Type.Integer({
				minimum: 1,
				maximum: 200,
				default: 50,
				description: "Page size, written as a decimal integer (`1.5`, `0x10` or `1e1` are refused).",
			}),
		),
		page_token: Type.Optional(
			Type.String({ minLength: 1, maxLength: 512, description: "Opaque token from a previous page." }),
		),
	},
	{ additionalProperties: false },
);

export const Page = <T extends TSchema>(item: T, description?: string) =>
	Type.Object(
		{ items: Type.Array(item), next_page_token: Nullable(Type.String()) },
		{ additionalProperties: false, description },
	);

export const IdempotencyHeaders = Type.Object({
	"idempotency-key": Type.Optional(
		Type.String({ minLength: 1, maxLength: 255, description: "Replays the first response for 24 h." }),
	),
});
