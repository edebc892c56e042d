import { type Static, type TSchema, Type } from "typebox";
import type { ProblemCode } from "./errors";
import { PROBLEM_CODES, problemCodeList, statusOf } from "./errors";

/**
 * The keyword that names a schema in the spec. Not `$id`: a response that holds one named schema
 * twice (an invoice run and its operation, each with an `Operation`) would give the serializer two
 * schemas of one id, which it refuses. The validator and the serializer ignore this keyword.
 */
export const SCHEMA_NAME = "x-schema-name";

/**
 * A named component of the spec: it becomes `#/components/schemas/<name>` wherever a route uses
 * it (see `openapi.ts`), so the SDK gets a type of that name. The example is type-checked against
 * the schema here and validated against it by the spec lint. Use it for every resource, page and
 * request body; names are PascalCase nouns (`Instance`, `InstanceCreate`, `InstancePage`).
 */
export function namedSchema<T extends TSchema>(name: string, schema: T, example?: Static<T>): T {
	// A copy with every property descriptor: TypeBox keeps its kind in non-enumerable keys, which a
	// spread would drop (and `Type.Partial` of the copy would then be an empty object).
	const named: Record<string, unknown> = Object.defineProperties({}, Object.getOwnPropertyDescriptors(schema));
	named[SCHEMA_NAME] = name;
	const shown = example ?? composedExample(schema);
	if (shown !== undefined) named.examples = [shown];
	return named as T;
}

const FORMAT_EXAMPLES: Record<string, string> = {
	"date-time": "2026-12-01T00:00:00Z",
	uuid: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
};

/**
 * An object whose properties all have examples (`{ instance, operation }`) gets theirs put
 * together, so an answer built from named parts needs no example of its own. A literal or enum
 * stands for itself, a union for its first member that has an example, an array for one item,
 * a timestamp or uuid for a fixed one.
 */
function composedExample(schema: unknown): unknown {
	const node = schema as {
		examples?: unknown[];
		const?: unknown;
		enum?: unknown[];
		anyOf?: unknown[];
		properties?: Record<string, unknown>;
		type?: unknown;
		items?: unknown;
		format?: unknown;
	};
	if (node.examples?.length) return node.examples[0];
	if (node.const !== undefined) return node.const;
	if (node.enum?.length) return node.enum[0];
	if (typeof node.format === "string" && node.format in FORMAT_EXAMPLES) return FORMAT_EXAMPLES[node.format];
	if (node.type === "array") {
		const item = composedExample(node.items);
		return item === undefined ? undefined : [item];
	}
	for (const member of node.anyOf ?? []) {
		const example = composedExample(member);
		if (example !== undefined) return example;
	}
	if (!node.properties || Object.keys(node.properties).length === 0) return undefined;
	const out: Record<string, unknown> = {};
	for (const [key, property] of Object.entries(node.properties)) {
		const example = composedExample(property);
		if (example === undefined) return undefined;
		out[key] = example;
	}
	return out;
}

/** A resource as the API returns it: named, with one realistic example. */
export function resourceSchema<T extends TSchema>(name: string, schema: T, example: Static<T>): T {
	return namedSchema(name, schema, example);
}

/** The name a schema was given with `namedSchema` (or a `$id`), if any. */
export function schemaName(schema: unknown): string | undefined {
	if (!schema || typeof schema !== "object") return undefined;
	const { $id, [SCHEMA_NAME]: name } = schema as Record<string, unknown>;
	if (typeof name === "string") return name;
	return typeof $id === "string" && !$id.startsWith("#") ? $id : undefined;
}

/** Shared schema ids: registered once with app.addSchema and named so in the spec. */
export const PROBLEM_SCHEMA_ID = "Problem";

export const ProblemFieldErrorSchema = Type.Object(
	{
		field: Type.Optional(
			Type.String({
				description:
					"What is wrong, as `<part>/<JSON pointer>` into the request (`body/name`, `querystring/limit`, `header/idempotency-key`).",
			}),
		),
		message: Type.Optional(Type.String({ description: "Why the field is refused." })),
		resource: Type.Optional(
			Type.String({
				description: "quota_exceeded: the quota resource short (`vcpus`, `memory_mib`, `volume_gib`...).",
			}),
		),
		limit: Type.Optional(Type.Integer({ description: "quota_exceeded: the tenant's limit for the resource." })),
		used: Type.Optional(Type.Integer({ description: "quota_exceeded: what the tenant holds now." })),
		requested: Type.Optional(Type.Integer({ description: "quota_exceeded: what this request needs on top." })),
	},
	{
		$id: "ProblemFieldError",
		additionalProperties: false,
		description:
			"One cause of a problem: a refused field (`field`, `message`) or, for quota_exceeded, a quota shortfall (`resource`, `limit`, `used`, `requested`).",
		examples: [{ resource: "vcpus", limit: 8, used: 6, requested: 4 }],
	},
);

export const ProblemSchema = Type.Object(
	{
		type: Type.String({ description: "URI identifying the problem type." }),
		title: Type.String(),
		status: Type.Integer(),
		detail: Type.Optional(Type.String()),
		code: Type.Unsafe<ProblemCode>({
			type: "string",
			enum: [...PROBLEM_CODES],
			description: `Stable machine-readable error code: ${problemCodeList()}.`,
		}),
		request_id: Type.String({ description: "The `x-request-id` of the request: quote it when reporting a problem." }),
		// A reference, not the schema itself: both are shared schemas (app.addSchema), and a copy
		// nested here would be inlined into Problem instead of named.
		errors: Type.Optional(
			Type.Array(Type.Unsafe<Static<typeof ProblemFieldErrorSchema>>({ $ref: "ProblemFieldError#" })),
		),
	},
	{
		$id: PROBLEM_SCHEMA_ID,
		description: "RFC 9457 problem details.",
		additionalProperties: false,
		examples: [
			{
				type: "https://igoudar.dev/problems/quota-exceeded",
				title: "Quota exceeded",
				status: 422,
				detail: "The request exceeds the quota for vcpus.",
				code: "quota_exceeded",
				request_id: "0193a5b2-7c4e-7d21-9f3a-5b8c2d1e4f60",
				errors: [{ resource: "vcpus", limit: 8, used: 6, requested: 4 }],
			},
		],
	},
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

const PAGE_TOKEN_EXAMPLE = "eyJrIjoiMDE5M2E1YjItN2M0ZSIsInYiOjF9";

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

/** One page of a list; a page of a named item is named `<Item>Page` in the spec, with its example. */
export const Page = <T extends TSchema>(item: T, description?: string) => {
	const name = schemaName(item);
	const example = (item as { examples?: unknown[] }).examples?.[0];
	const named = name ? { [SCHEMA_NAME]: `${name}Page` } : {};
	const examples =
		example === undefined ? {} : { examples: [{ items: [example], next_page_token: PAGE_TOKEN_EXAMPLE }] };
	return Type.Object(
		{
			items: Type.Array(item),
			next_page_token: Nullable(
				Type.String({ description: "Pass as `page_token` for the next page; null on the last page." }),
			),
		},
		{ additionalProperties: false, description, ...named, ...examples },
	);
};

export const IdempotencyHeaders = Type.Object({
	"idempotency-key": Type.Optional(
		Type.String({ minLength: 1, maxLength: 255, description: "Replays the first response for 24 h." }),
	),
});
