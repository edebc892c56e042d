import { type Access, ROLE_RANK, type Role } from "./principal";
import { SCHEMA_NAME, schemaName } from "./schemas";

/**
 * What the spec adds to the route schemas, all in one place so no route can forget it:
 *
 * - Named components: every schema given a name (`namedSchema`, or a `$id`) becomes
 *   `#/components/schemas/<id>` and each use of it a `$ref`, so the SDK has a type of that name.
 * - Response headers: `x-request-id` on every answer, `Idempotent-Replayed` where a POST can be
 *   replayed, `Retry-After` on 429, 503 and the 409 of a key still in flight.
 * - The two documents about the API itself, `/openapi.json` and `/docs`.
 *
 * The access rule each operation states in its description is written by `accessDescription`
 * from the route's own `config.access`, the rule the server enforces.
 */

type Json = Record<string, unknown>;

const SCHEMA_REF = "#/components/schemas/";
const HEADER_REF = "#/components/headers/";
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);

/** Statuses an Idempotency-Key replay can give: the first answer, except refusals before the key is read. */
const REPLAYABLE = /^(2\d\d|400|404|409|422)$/;

const headers: Record<string, Json> = {
	RequestId: {
		description:
			"The request's id: the caller's own `x-request-id` when it is 1-128 characters of `A-Za-z0-9._:-`, otherwise one the server mints. Also in every problem body and log line.",
		required: true,
		schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
	},
	IdempotentReplayed: {
		description:
			"`true` when this is the stored answer to an earlier request with the same Idempotency-Key, not a new execution.",
		schema: { type: "string", enum: ["true"] },
	},
	RetryAfter: {
		description: "Seconds to wait before retrying.",
		schema: { type: "integer", minimum: 0 },
	},
	Location: {
		description:
			"201: the new resource. 202: what to poll: the operation doing the work (`/v1/tenants/{tenant_id}/operations/{operation_id}`), or, where the path names no tenant to read it under, the resource the work is for, which shows its operation (an invoice run: `/v1/invoice-runs/{run_id}`).",
		required: true,
		schema: { type: "string", format: "uri-reference" },
	},
	RetryAfterRequired: {
		description: "Seconds to wait before retrying.",
		required: true,
		schema: { type: "integer", minimum: 0 },
	},
};

/** Collects the named schemas of the routes as the spec is built; one instance per document. */
export class SpecComponents {
	readonly schemas = new Map<string, Json>();
	private readonly texts = new Map<string, string>();

	/** A copy of `schema` with every named sub-schema (itself included) replaced by a `$ref`. */
	hoist(schema: unknown): unknown {
		if (Array.isArray(schema)) return schema.map((item) => this.hoist(item));
		if (!schema || typeof schema !== "object") return schema;
		const name = schemaName(schema);
		const { $id: _id, [SCHEMA_NAME]: _name, ...rest } = schema as Json;
		const copy: Json = {};
		for (const [key, value] of Object.entries(rest)) copy[key] = this.hoist(value);
		// A reference to a shared schema (`Problem#`, app.addSchema) names the same component.
		if (typeof copy.$ref === "string" && /^[A-Za-z]\w*#$/.test(copy.$ref)) {
			copy.$ref = `${SCHEMA_REF}${copy.$ref.slice(0, -1)}`;
		}
		if (name === undefined) return copy;
		const text = JSON.stringify(copy);
		const known = this.texts.get(name);
		if (known !== undefined && known !== text) {
			throw new Error(`two different schemas are named ${name}: give one of them another name`);
		}
		this.texts.set(name, text);
		this.schemas.set(name, copy);
		return { $ref: `${SCHEMA_REF}${name}` };
	}

	/** The per-route transform: names the body and response schemas; query and path stay inline parameters. */
	transformRoute(route: object | undefined): Json | undefined {
		if (!route) return undefined;
		const schema = route as Json;
		const out: Json = { ...schema };
		if (schema.body) out.body = this.hoist(schema.body);
		if (schema.response) {
			const response: Json = {};
			for (const [status, body] of Object.entries(schema.response as Json)) {
				response[status] = hasContent(body) ? this.hoistContent(body) : this.hoist(body);
			}
			out.response = response;
		}
		return out;
	}

	/** Where `locationHeaders` sends `Location`, by the same rule. */
	private addLocation(path: string, operation: Json, paths: Record<string, Json>, items: Map<string, string>): void {
		const responses = (operation.responses ?? {}) as Record<string, Json>;
		const created = responses["201"];
		const hasItem = Object.keys(paths).some(
			(other) =>
				/^\{[A-Za-z_]+\}$/.test(other.slice(path.length + 1)) &&
				other.startsWith(`${path}/`) &&
				"get" in (paths[other] ?? {}),
		);
		if (created && hasItem) (created.headers as Json).Location = headerRef("Location");
		const accepted = responses["202"];
		const body = this.schemas.get(refName(jsonSchemaOf(accepted)) ?? "");
		const properties = Object.values((body?.properties ?? {}) as Record<string, Json>);
		const own = new Set(parametersOf(path));
		// Which carried resource the header names is the runtime's choice (the operation first);
		// the spec only says whether one of them can be addressed from this path.
		const addressable = properties.some((property) => {
			const item = items.get(refName(property) ?? "");
			return (
				item !== undefined &&
				parametersOf(item)
					.slice(0, -1)
					.every((name) => own.has(name))
			);
		});
		if (accepted && addressable) (accepted.headers as Json).Location = headerRef("Location");
	}

	private hoistContent(body: Json & { content: Record<string, Json> }): Json {
		const content: Record<string, Json> = {};
		for (const [type, media] of Object.entries(body.content))
			content[type] = { ...media, schema: this.hoist(media.schema) };
		return { ...body, content };
	}

	/** The whole-document transform: components, response headers and the API's own documents. */
	finish<T extends object>(openapi: T): T {
		const document = openapi as Json;
		document.components ??= {};
		const components = document.components as Json;
		components.schemas ??= {};
		const schemas = components.schemas as Json;
		for (const [name, schema] of this.schemas) schemas[name] = schema;
		components.headers = { ...((components.headers as Json | undefined) ?? {}), ...headers };
		document.paths ??= {};
		const paths = document.paths as Record<string, Json>;
		Object.assign(paths, selfDescribingPaths());
		const items = itemsByResource(paths);
		for (const [path, item] of Object.entries(paths)) {
			for (const [method, operation] of Object.entries(item)) {
				if (!HTTP_METHODS.has(method)) continue;
				addResponseHeaders(operation as Json);
				if (method === "post" || method === "delete") this.addLocation(path, operation as Json, paths, items);
			}
		}
		return openapi;
	}
}

/** An answer written per media type, `{ description, content: { <type>: { schema } } }` (errors, CSV). */
function hasContent(body: unknown): body is Json & { content: Record<string, Json> } {
	return !!body && typeof body === "object" && "content" in body;
}

/** The schema of an answer's JSON body. */
function jsonSchemaOf(response: Json | undefined): Json | undefined {
	return (response?.content as Record<string, Json> | undefined)?.["application/json"]?.schema as Json | undefined;
}

/** The component a `$ref` names. */
function refName(schema: Json | undefined): string | undefined {
	const ref = schema?.$ref;
	return typeof ref === "string" && ref.startsWith(SCHEMA_REF) ? ref.slice(SCHEMA_REF.length) : undefined;
}

/** The `{name}` parameters of a path, in order. */
function parametersOf(path: string): string[] {
	return [...path.matchAll(/\{([A-Za-z_]+)\}/g)].map((match) => match[1] ?? "");
}

/** The item GET path answering each component, as `location.ts` finds them; one two answer is left out. */
function itemsByResource(paths: Record<string, Json>): Map<string, string> {
	const seen = new Map<string, string | null>();
	for (const [path, item] of Object.entries(paths)) {
		const name = refName(
			jsonSchemaOf(((item.get as Json | undefined)?.responses as Json | undefined)?.["200"] as Json),
		);
		if (!name || !/\/\{[A-Za-z_]+\}$/.test(path)) continue;
		seen.set(name, seen.has(name) ? null : path);
	}
	const out = new Map<string, string>();
	for (const [name, path] of seen) if (path) out.set(name, path);
	return out;
}

function headerRef(name: string): Json {
	return { $ref: `${HEADER_REF}${name}` };
}

const SUCCESS: Record<string, string> = {
	"200": "OK",
	"201": "Created",
	"202": "Accepted: the work goes on in the operation returned",
	"204": "Done; no content",
};

/** Fastify's swagger calls every answer without a description "Default Response"; say what it is. */
function describeSuccess(status: string, response: Json): void {
	if (response.description !== "Default Response") return;
	const schema = (response.content as Record<string, Json> | undefined)?.["application/json"]?.schema as
		| Json
		| undefined;
	const ref = typeof schema?.$ref === "string" ? schema.$ref.slice(SCHEMA_REF.length) : undefined;
	const what = SUCCESS[status] ?? "OK";
	response.description = ref ? `${what} (${ref}).` : `${what}.`;
}

function addResponseHeaders(operation: Json): void {
	const parameters = (operation.parameters as Json[] | undefined) ?? [];
	const idempotent = parameters.some((p) => p.in === "header" && String(p.name).toLowerCase() === "idempotency-key");
	for (const [status, response] of Object.entries((operation.responses as Record<string, Json>) ?? {})) {
		describeSuccess(status, response);
		response.headers ??= {};
		const out = response.headers as Json;
		out["x-request-id"] = headerRef("RequestId");
		if (idempotent && REPLAYABLE.test(status)) out["Idempotent-Replayed"] = headerRef("IdempotentReplayed");
		if (status === "429") out["Retry-After"] = headerRef("RetryAfterRequired");
		// 503: sent with `unavailable` (a dependency is down); 409: with idempotency_key_in_use.
		else if (status === "503" || (idempotent && status === "409")) out["Retry-After"] = headerRef("RetryAfter");
	}
}

/**
 * `/openapi.json` and `/docs` are part of what a deployment serves, so the spec lists them. The
 * reference UI's own assets (`/docs/static/*`, `/docs/json`, `/docs/yaml`) are the UI library's
 * files and change with its version: they are left out.
 */
function selfDescribingPaths(): Record<string, Json> {
	const answer = (description: string, type: string, schema: Json): Json => ({
		description,
		content: { [type]: { schema } },
	});
	// Node refuses an over-long request line or header block, or a slow request, before any route is known.
	const problem = (code: string) => answer(code, "application/problem+json", { $ref: `${SCHEMA_REF}Problem` });
	return {
		"/openapi.json": {
			get: {
				operationId: "openapiGet",
				summary: "Get the OpenAPI document",
				description: `This document: the merged OpenAPI 3.1 spec of every service.\n\n${accessDescription({ public: true })}`,
				tags: ["service"],
				security: [],
				responses: {
					"200": answer("The OpenAPI 3.1 document.", "application/json", {
						type: "object",
						additionalProperties: true,
						description: "An OpenAPI 3.1 document.",
					}),
					"408": problem("request_timeout"),
					"431": problem("headers_too_large"),
				},
			},
		},
		"/docs": {
			get: {
				operationId: "docsGet",
				summary: "Read the API reference",
				description: `The interactive reference (Swagger UI) of this document.\n\n${accessDescription({ public: true })}`,
				tags: ["service"],
				security: [],
				responses: {
					"200": answer("The reference page.", "text/html", { type: "string" }),
					"408": problem("request_timeout"),
					"431": problem("headers_too_large"),
				},
			},
		},
	};
}

const TENANT_ROLES: Role[] = ["viewer", "member", "admin"];

/** Who may call a route, in words, from the rule the server enforces. */
export function accessDescription(access: Access): string {
	if ("public" in access) return "**Access:** public: no OAuth access token needed.";
	if (access.role === "operator") return "**Access:** operators only.";
	const roles = TENANT_ROLES.filter((role) => ROLE_RANK[role] >= ROLE_RANK[access.role]);
	const quoted = roles.map((role) => `\`${role}\``);
	const named = quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}` : (quoted[0] ?? "");
	if (access.tenant) {
		return `**Access:** operators, and the principals of the tenant \`tenant_id\` with role ${named}; another tenant's principals get 404.`;
	}
	return access.role === "viewer"
		? "**Access:** any authenticated principal (operators, and tenant principals of any role)."
		: `**Access:** operators, and tenant principals with role ${named}.`;
}

/** Appends the access rule to a route's description once (HEAD routes share the GET's schema). */
export function describeAccess(schema: Json, access: Access): void {
	const text = accessDescription(access);
	const description = typeof schema.description === "string" ? schema.description : "";
	if (description.includes(text)) return;
	schema.description = description ? `${description}\n\n${text}` : text;
}
