import { TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import type { FastifySchemaCompiler, FastifySchemaValidationError } from "fastify";
import type { TSchema } from "typebox";

/**
 * Input rules every request obeys, whatever its route declares:
 *
 * - No string anywhere in a body, query or path (property names included) holds NUL or a lone
 *   UTF-16 surrogate. Postgres refuses NUL in text and jsonb, and a lone surrogate is no character
 *   at all: it reaches the database as U+FFFD or breaks a jsonb write. Both are refused with 400
 *   before anything runs, the same way everywhere.
 * - Integers (and numbers) in a query or path are decimal. The validator's conversion would read
 *   `1.5`, `0x10`, `1e1` and `0b11` as 1, 16, 10 and 3; a client that sends them has a bug that
 *   deserves a 400, not a guess.
 *
 * The first rule is also written into the request schemas (see `documentTextRule`), so the spec
 * says what the server enforces.
 */

/** Matches a string with no NUL and no unpaired surrogate (with or without the `u` flag). */
export const TEXT_PATTERN = "^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$";

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSAFE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DECIMAL_INTEGER = /^-?[0-9]+$/;
const DECIMAL_NUMBER = /^-?[0-9]+(?:\.[0-9]+)?$/;
const TEXT_MESSAGE = "must not contain NUL or a lone UTF-16 surrogate";
/** Enough to name what is wrong; a body full of bad strings must not become a huge answer. */
const MAX_ISSUES = 20;

export function isUnsafeText(value: string): boolean {
	return UNSAFE_TEXT.test(value);
}

/** Where a value sits in the request: its key and its parent, so no path is built until it is needed. */
interface Place {
	key: string;
	parent: Place | null;
}

/** Deeper than any request schema goes: past this, the pointer names the way in and stops. */
const MAX_POINTER_SEGMENTS = 32;

function pointer(place: Place | null): string {
	const segments: string[] = [];
	for (let at = place; at; at = at.parent) segments.push(at.key);
	segments.reverse();
	const shown = segments.slice(0, MAX_POINTER_SEGMENTS).map((s) => `/${s.replaceAll("~", "~0").replaceAll("/", "~1")}`);
	return shown.join("") + (segments.length > MAX_POINTER_SEGMENTS ? "/..." : "");
}

function issue(place: Place | null, message: string, keyword: string): FastifySchemaValidationError {
	return { keyword, instancePath: pointer(place), schemaPath: "#", params: {}, message };
}

/**
 * Every string and property name that breaks the text rule. Walked with an explicit stack and
 * parent links: a parsed body may nest deeper than the call stack (this runs before the schema
 * bounds anything), and copying a path at every level would cost the square of the depth.
 */
export function unsafeTextIssues(data: unknown): FastifySchemaValidationError[] {
	const issues: FastifySchemaValidationError[] = [];
	const stack: { value: unknown; place: Place | null }[] = [{ value: data, place: null }];
	while (stack.length > 0 && issues.length < MAX_ISSUES) {
		const { value, place } = stack.pop() as { value: unknown; place: Place | null };
		if (typeof value === "string") {
			if (isUnsafeText(value)) issues.push(issue(place, TEXT_MESSAGE, "pattern"));
		} else if (Array.isArray(value)) {
			for (let i = value.length - 1; i >= 0; i--)
				stack.push({ value: value[i], place: { key: String(i), parent: place } });
		} else if (value !== null && typeof value === "object") {
			const entries = Object.entries(value);
			for (let i = entries.length - 1; i >= 0; i--) {
				const [key, inner] = entries[i] as [string, unknown];
				if (isUnsafeText(key)) {
					issues.push(issue(place, `has a property name that ${TEXT_MESSAGE}`, "propertyNames"));
					continue;
				}
				stack.push({ value: inner, place: { key, parent: place } });
			}
		}
	}
	return issues;
}

type NumericKind = "integer" | "number";

interface SchemaNode {
	type?: unknown;
	pattern?: unknown;
	format?: unknown;
	enum?: unknown;
	const?: unknown;
	properties?: Record<string, SchemaNode>;
	patternProperties?: Record<string, SchemaNode>;
	additionalProperties?: unknown;
	items?: unknown;
	prefixItems?: unknown;
	anyOf?: SchemaNode[];
	oneOf?: SchemaNode[];
	allOf?: SchemaNode[];
}

function numericKind(schema: SchemaNode | undefined): NumericKind | undefined {
	if (!schema) return undefined;
	if (schema.type === "integer" || schema.type === "number") return schema.type;
	for (const member of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
		const kind = numericKind(member);
		if (kind) return kind;
	}
	return undefined;
}

/** The numeric top-level properties of a query or path schema (both are flat objects). */
function numericProperties(schema: unknown): [string, NumericKind][] {
	const properties = (schema as SchemaNode | undefined)?.properties ?? {};
	const out: [string, NumericKind][] = [];
	for (const [name, property] of Object.entries(properties)) {
		const kind = numericKind(property);
		if (kind) out.push([name, kind]);
	}
	return out;
}

function nonDecimalIssues(data: unknown, numeric: [string, NumericKind][]): FastifySchemaValidationError[] {
	if (data === null || typeof data !== "object") return [];
	const issues: FastifySchemaValidationError[] = [];
	for (const [name, kind] of numeric) {
		const raw = (data as Record<string, unknown>)[name];
		const values = Array.isArray(raw) ? raw : [raw];
		const shape = kind === "integer" ? DECIMAL_INTEGER : DECIMAL_NUMBER;
		if (values.some((value) => typeof value === "string" && !shape.test(value))) {
			const message = kind === "integer" ? "must be a decimal integer" : "must be a decimal number";
			issues.push(issue({ key: name, parent: null }, message, "type"));
		}
	}
	return issues;
}

type ValidationFunction = ReturnType<FastifySchemaCompiler<TSchema>>;

/**
 * TypeBox validation (bodies checked as sent, query, path and headers converted from text) with
 * the rules above checked first, so their refusals read the same on every route.
 */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = (route) => {
	const validate = TypeBoxValidatorCompiler(route) as (data: unknown) => ReturnType<ValidationFunction>;
	// Header values cannot carry NUL or surrogates: Node's parser refuses control bytes and reads latin1.
	if (route.httpPart === "headers") return validate as ValidationFunction;
	const numeric = route.httpPart === "body" ? [] : numericProperties(route.schema);
	const strict = (data: unknown) => {
		const issues = [...unsafeTextIssues(data), ...nonDecimalIssues(data, numeric)];
		return issues.length > 0 ? { error: issues } : validate(data);
	};
	return strict as ValidationFunction;
};

/**
 * Writes the text rule into a request schema: every string that no pattern, format, enum or const
 * already bounds gets `TEXT_PATTERN`, so the spec (and any client or fuzzer reading it) knows that
 * NUL and lone surrogates are refused. Idempotent: schemas shared between routes are fine.
 */
export function documentTextRule(schema: unknown): void {
	const stack: unknown[] = [schema];
	const seen = new Set<unknown>();
	while (stack.length > 0) {
		const node = stack.pop() as SchemaNode | undefined;
		if (!node || typeof node !== "object" || seen.has(node)) continue;
		seen.add(node);
		const free = node.pattern === undefined && node.format === undefined && node.enum === undefined;
		if (node.type === "string" && free && node.const === undefined) node.pattern = TEXT_PATTERN;
		stack.push(...Object.values(node.properties ?? {}), ...Object.values(node.patternProperties ?? {}));
		stack.push(node.additionalProperties, node.items);
		for (const list of [node.anyOf, node.oneOf, node.allOf, node.prefixItems]) {
			if (Array.isArray(list)) stack.push(...list);
		}
	}
}
