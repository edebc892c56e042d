import fc from "fast-check";
import type { JsonSchema } from "./spec-support";

/**
 * Request values generated from the schemas the spec publishes: mostly what the schema allows, so
 * requests get past validation and into the use cases and the database, mixed with what a fuzzer
 * sends (NUL, lone surrogates, wrong types, unknown fields, loosely written numbers).
 */

/** Code units no stored text may hold. */
const hostileUnit = fc.constantFrom("\u0000", "\ud800", "\udbff", "\udc00", "\udfff");
/** Any code point, or now and then a unit that is not text at all. */
const anyUnit = fc.oneof(
	{ weight: 6, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
	{ weight: 1, arbitrary: hostileUnit },
);
export const hostileString = (maxLength = 40) => fc.string({ unit: anyUnit, maxLength });

/**
 * `conforming`: only what the schema allows, so the request reaches the use case and the database.
 * `hostile`: any level may carry text that is not text, a value of the wrong type or a stray field.
 */
export type Mode = "conforming" | "hostile";

function matching(pattern: string | undefined, minLength = 0, maxLength = 40): fc.Arbitrary<string> {
	if (pattern) {
		try {
			return fc.stringMatching(new RegExp(pattern)).filter((s) => s.length >= minLength && s.length <= maxLength);
		} catch {
			// A pattern fast-check cannot generate from: fall back to plain text.
		}
	}
	// Whole graphemes (emoji and other surrogate pairs included): well-formed text of any script.
	return fc.string({ unit: "grapheme", minLength, maxLength: Math.min(maxLength, 40) });
}

function stringFor(schema: JsonSchema, mode: Mode): fc.Arbitrary<string> {
	const conforming =
		schema.format === "uuid"
			? fc.uuid()
			: schema.format === "date-time"
				? fc
						.date({ noInvalidDate: true, min: new Date("2000-01-01"), max: new Date("2100-01-01") })
						.map((d) => d.toISOString())
				: matching(schema.pattern, schema.minLength, schema.maxLength);
	if (mode === "conforming") return conforming;
	return fc.oneof({ weight: 3, arbitrary: conforming }, { weight: 1, arbitrary: hostileString(schema.maxLength) });
}

function integerFor(schema: JsonSchema, mode: Mode): fc.Arbitrary<number> {
	const min = schema.minimum ?? -1_000_000;
	const max = schema.maximum ?? 1_000_000;
	if (mode === "conforming") return fc.integer({ min, max });
	return fc.oneof(
		{ weight: 4, arbitrary: fc.integer({ min, max }) },
		{ weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER) },
		{ weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
	);
}

function objectFor(schema: JsonSchema, mode: Mode, depth: number): fc.Arbitrary<Record<string, unknown>> {
	const required = new Set(schema.required ?? []);
	const properties = Object.entries(schema.properties ?? {});
	const known =
		properties.length > 0
			? fc.record(Object.fromEntries(properties.map(([name, inner]) => [name, valueFor(inner, mode, depth + 1)])), {
					requiredKeys: properties.map(([name]) => name).filter((name) => required.has(name)),
				})
			: fc.constant({});
	const patterned = Object.entries(schema.patternProperties ?? {});
	const open = typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined;
	const mapOf = (keyPattern: string | undefined, inner: JsonSchema) =>
		fc.dictionary(
			mode === "conforming" ? matching(keyPattern, 1, 63) : fc.oneof(matching(keyPattern, 1, 63), hostileString(20)),
			valueFor(inner, mode, depth + 1),
			{ maxKeys: 3 },
		);
	const maps = [
		...patterned.map(([pattern, inner]) => mapOf(pattern, inner)),
		...(open ? [mapOf(undefined, open)] : []),
	];
	// Now and then a field the schema does not know, under a name that may not be text.
	const stray =
		mode === "conforming"
			? fc.constant(null)
			: fc.option(fc.dictionary(hostileString(12), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 1 }), { freq: 6 });
	return fc
		.tuple(known, fc.tuple(...maps), stray)
		.map(([fields, extra, unknown]) => Object.assign({}, ...extra, fields, unknown ?? {}) as Record<string, unknown>);
}

/** A value for `schema` in either mode, half and half: requests that get in, and requests that probe. */
export function requestValueFor(schema: JsonSchema): fc.Arbitrary<unknown> {
	return fc.oneof(valueFor(schema, "conforming"), valueFor(schema, "hostile"));
}

/** A value for `schema`; in hostile mode with a small chance at every level of a value of the wrong type. */
export function valueFor(schema: JsonSchema, mode: Mode, depth = 0): fc.Arbitrary<unknown> {
	const wrong = fc.jsonValue({ maxDepth: 1 });
	const members = schema.anyOf ?? schema.oneOf;
	let right: fc.Arbitrary<unknown>;
	if (members) right = fc.oneof(...members.map((member) => valueFor(member, mode, depth)));
	else if (schema.const !== undefined) right = fc.constant(schema.const);
	else if (schema.enum) right = fc.constantFrom(...schema.enum);
	else if (schema.type === "string") right = stringFor(schema, mode);
	else if (schema.type === "integer") right = integerFor(schema, mode);
	else if (schema.type === "number") right = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
	else if (schema.type === "boolean") right = fc.boolean();
	else if (schema.type === "null") right = fc.constant(null);
	else if (schema.type === "array" && schema.items) {
		const length = {
			minLength: schema.minItems ?? 0,
			maxLength: Math.max(Math.min(schema.maxItems ?? 4, 4), schema.minItems ?? 0),
		};
		right = fc.array(valueFor(schema.items, mode, depth + 1), mode === "conforming" ? length : { maxLength: 4 });
	} else if (schema.type === "object" && depth < 4) right = objectFor(schema, mode, depth);
	else right = wrong;
	if (mode === "conforming") return right;
	return fc.oneof({ weight: 12, arbitrary: right }, { weight: 1, arbitrary: wrong });
}

/** Query values as text: what the schema wants, numbers written loosely, or text that is not text. */
export function queryValueFor(schema: JsonSchema, mode: Mode): fc.Arbitrary<string> {
	const numeric = schema.type === "integer" || schema.type === "number";
	const conforming = numeric
		? fc.integer({ min: schema.minimum ?? 0, max: schema.maximum ?? 1000 }).map(String)
		: valueFor(schema, "conforming").map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
	if (mode === "conforming") return conforming;
	const loose = numeric
		? fc.constantFrom("1.5", "0x10", "1e1", "0b11", "0o7", "+5", " 5", "", "-0", "1_0", "Infinity", "٣", "201")
		: hostileString(30);
	return fc.oneof(conforming, loose, hostileString(8));
}

/**
 * Percent-encodes text the way a careless client would: a lone surrogate becomes the three bytes
 * it would take in UTF-8 (which no UTF-8 decoder accepts), everything else plain UTF-8.
 */
export function encodeQueryText(text: string): string {
	let out = "";
	for (const char of text) {
		const unit = char.charCodeAt(0);
		if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
			const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
			out += bytes.map((byte) => `%${byte.toString(16).toUpperCase()}`).join("");
		} else {
			out += encodeURIComponent(char);
		}
	}
	return out;
}
