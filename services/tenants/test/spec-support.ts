import type { TestPlatform } from "@igoudar/server/testing";

/** The parts of a JSON Schema (as the spec publishes the route schemas) the request tests read. */
export interface JsonSchema {
	type?: string | string[];
	format?: string;
	pattern?: string;
	enum?: unknown[];
	const?: unknown;
	minLength?: number;
	maxLength?: number;
	minimum?: number;
	maximum?: number;
	exclusiveMinimum?: number;
	minItems?: number;
	maxItems?: number;
	minProperties?: number;
	maxProperties?: number;
	properties?: Record<string, JsonSchema>;
	required?: string[];
	patternProperties?: Record<string, JsonSchema>;
	additionalProperties?: boolean | JsonSchema;
	items?: JsonSchema;
	anyOf?: JsonSchema[];
	oneOf?: JsonSchema[];
	description?: string;
}

interface SpecParameter {
	name: string;
	in: "query" | "path" | "header";
	required?: boolean;
	schema: JsonSchema;
}

interface SpecOperationObject {
	operationId?: string;
	parameters?: SpecParameter[];
	requestBody?: { content: Record<string, { schema: JsonSchema }> };
	responses: Record<string, { description: string }>;
}

export interface Spec {
	paths: Record<string, Record<string, SpecOperationObject>>;
	components: {
		schemas: Record<string, JsonSchema> & { Problem: { properties: { code: { description: string } } } };
	};
}

/** The schema with every `#/components/schemas/<name>` reference replaced by that schema. */
function dereferenced(schema: unknown, components: Record<string, JsonSchema>): JsonSchema {
	const resolve = (node: unknown): unknown => {
		if (Array.isArray(node)) return node.map(resolve);
		if (!node || typeof node !== "object") return node;
		const ref = (node as { $ref?: unknown }).$ref;
		if (typeof ref === "string") return resolve(components[ref.replace("#/components/schemas/", "")]);
		return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, resolve(value)]));
	};
	return resolve(schema) as JsonSchema;
}

export interface SpecOperation {
	method: string;
	/** As the spec writes it: `/v1/tenants/{tenant_id}`. */
	path: string;
	operationId: string;
	parameters: SpecParameter[];
	/** Names of the query parameters. */
	query: string[];
	/** The JSON body schema, when the operation takes one. */
	body?: JsonSchema;
	/** Every schema a request is checked against: body, query and path parameters. */
	requestSchemas: JsonSchema[];
	responses: Record<string, { description: string }>;
}

/** Every operation of the served spec: the contract the tests hold the answers to. */
export async function specOperations(t: TestPlatform): Promise<SpecOperation[]> {
	const spec = await t.request<Spec>("GET", "/openapi.json");
	const out: SpecOperation[] = [];
	for (const [path, operations] of Object.entries(spec.body.paths)) {
		for (const [method, op] of Object.entries(operations)) {
			const parameters = op.parameters ?? [];
			const named = op.requestBody?.content["application/json"]?.schema;
			const body = named && dereferenced(named, spec.body.components.schemas);
			const checked = parameters.filter((p) => p.in !== "header").map((p) => p.schema);
			out.push({
				method,
				path,
				operationId: op.operationId ?? `${method} ${path}`,
				parameters,
				query: parameters.filter((p) => p.in === "query").map((p) => p.name),
				body,
				requestSchemas: body ? [body, ...checked] : checked,
				responses: op.responses,
			});
		}
	}
	return out;
}

/** String schemas nothing but a pattern can bound: no format, enum or const. */
export function freeStrings(schema: JsonSchema): JsonSchema[] {
	const out: JsonSchema[] = [];
	const stack: JsonSchema[] = [schema];
	while (stack.length > 0) {
		const node = stack.pop() as JsonSchema;
		if (node.type === "string" && node.format === undefined && node.enum === undefined && node.const === undefined) {
			out.push(node);
		}
		stack.push(...Object.values(node.properties ?? {}), ...Object.values(node.patternProperties ?? {}));
		if (typeof node.additionalProperties === "object") stack.push(node.additionalProperties);
		if (node.items) stack.push(node.items);
		stack.push(...(node.anyOf ?? []), ...(node.oneOf ?? []));
	}
	return out;
}

/** Strings Postgres cannot store or that are not text at all: NUL and unpaired surrogates. */
export const UNSTORABLE_STRINGS = ["a\ud800", "\udfff", "tail\ud83d", "\ude00head", "x\u0000y"];
