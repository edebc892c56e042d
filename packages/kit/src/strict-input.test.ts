import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import {
	documentTextRule,
	isUnsafeText,
	strictValidatorCompiler,
	TEXT_PATTERN,
	unsafeTextIssues,
} from "./strict-input";

type Outcome = { error?: { instancePath: string; message?: string }[]; value?: unknown };

function validator(schema: unknown, httpPart: string) {
	const compile = strictValidatorCompiler as unknown as (route: {
		schema: unknown;
		httpPart: string;
		method: string;
		url: string;
	}) => (data: unknown) => Outcome;
	return compile({ schema, httpPart, method: "GET", url: "/" });
}

describe("the text rule", () => {
	it("tells NUL and unpaired surrogates from text, surrogate pairs included", () => {
		for (const bad of ["\u0000", "a\ud800", "\udc00b", "\ud83d", "x\ud83d\ud83d\ude00"]) {
			expect(isUnsafeText(bad), JSON.stringify(bad)).toBe(true);
		}
		for (const good of ["", "plain", "😀", "a\ud83d\ude00b", "tab\tand\nnewline", "\u00e9\u4e2d"]) {
			expect(isUnsafeText(good), good).toBe(false);
		}
	});

	it("names every offending string and property name by JSON pointer", () => {
		const issues = unsafeTextIssues({ "a/b": { "c~d": ["ok", "\u0000"] }, "k\ud800": 1, fine: "\udfff" });
		expect(issues.map((i) => [i.instancePath, i.keyword]).sort()).toEqual([
			["", "propertyNames"],
			["/a~1b/c~0d/1", "pattern"],
			["/fine", "pattern"],
		]);
	});

	it("walks a body nested far deeper than the call stack, and keeps the answer short", () => {
		const depth = 200_000;
		const nested = JSON.parse(`${"[".repeat(depth)}"\\ud800"${"]".repeat(depth)}`) as unknown;
		const [found] = unsafeTextIssues(nested);
		expect(found?.instancePath.startsWith("/0/0/0")).toBe(true);
		expect(found?.instancePath.length).toBeLessThan(200);
		expect(unsafeTextIssues(Array.from({ length: 1000 }, () => "\u0000"))).toHaveLength(20);
	});
});

describe("the validator", () => {
	const query = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1 })), q: Type.Optional(Type.String()) });

	it("reads query integers written in decimal, and refuses every other notation", () => {
		const validate = validator(query, "querystring");
		expect(validate({ limit: "12" }).value).toEqual({ limit: 12 });
		for (const loose of ["1.5", "0x10", "1e1", "0b11", "0o7", "+5", " 5", "", "Infinity"]) {
			expect(validate({ limit: loose }).error?.[0], loose).toMatchObject({
				instancePath: "/limit",
				message: "must be a decimal integer",
			});
		}
	});

	it("refuses unstorable text in query, path and body alike, before the schema", () => {
		expect(validator(query, "querystring")({ q: "a\u0000" }).error?.[0]?.instancePath).toBe("/q");
		expect(validator(query, "params")({ q: "\ud800" }).error?.[0]?.instancePath).toBe("/q");
		const body = Type.Object({ labels: Type.Record(Type.String(), Type.String()) });
		expect(validator(body, "body")({ labels: { app: "\udc00" } }).error?.[0]?.instancePath).toBe("/labels/app");
		expect(validator(body, "body")({ labels: { app: "web 😀" } }).value).toEqual({ labels: { app: "web 😀" } });
	});
});

describe("documenting the rule in the schemas", () => {
	it("patterns every free string and leaves bounded ones alone, once", () => {
		const schema = Type.Object({
			free: Type.String(),
			named: Type.String({ pattern: "^[a-z]+$" }),
			id: Type.String({ format: "uuid" }),
			kind: Type.Union([Type.Literal("a"), Type.Literal("b")]),
			labels: Type.Record(Type.String({ pattern: "^[a-z]+$" }), Type.String()),
			list: Type.Array(Type.Union([Type.String(), Type.Null()])),
		});
		documentTextRule(schema);
		documentTextRule(schema);
		const json = JSON.parse(JSON.stringify(schema));
		expect(json.properties.free.pattern).toBe(TEXT_PATTERN);
		expect(json.properties.named.pattern).toBe("^[a-z]+$");
		expect(json.properties.id.pattern).toBeUndefined();
		expect(json.properties.kind.anyOf.map((k: { pattern?: string }) => k.pattern)).toEqual([undefined, undefined]);
		expect(json.properties.labels.patternProperties["^[a-z]+$"].pattern).toBe(TEXT_PATTERN);
		expect(json.properties.list.items.anyOf[0].pattern).toBe(TEXT_PATTERN);
	});
});
