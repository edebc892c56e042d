import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { accessDescription, SpecComponents } from "./openapi";
import { namedSchema, Page, resourceSchema, SCHEMA_NAME } from "./schemas";

const Zone = resourceSchema(
	"Zone",
	Type.Object({ id: Type.String({ format: "uuid" }), name: Type.String() }, { additionalProperties: false }),
	{ id: "0193a3b0-0a1b-7c2d-8e3f-4a5b6c7d8e9f", name: "dakhla-1" },
);

describe("named schemas in the spec", () => {
	it("replaces every named schema by a reference and collects it once, page and all", () => {
		const spec = new SpecComponents();
		const route = spec.transformRoute({ response: { 200: Page(Zone), 201: Zone } });
		expect(route?.response).toEqual({
			200: { $ref: "#/components/schemas/ZonePage" },
			201: { $ref: "#/components/schemas/Zone" },
		});
		const page = spec.schemas.get("ZonePage") as { properties: { items: { items: unknown } }; examples: unknown[] };
		expect(page.properties.items.items).toEqual({ $ref: "#/components/schemas/Zone" });
		expect(page.examples[0]).toMatchObject({ items: [{ name: "dakhla-1" }] });
		expect(spec.schemas.get("Zone")).not.toHaveProperty(SCHEMA_NAME);
	});

	it("refuses two different schemas under one name", () => {
		const spec = new SpecComponents();
		spec.transformRoute({ body: namedSchema("ZoneCreate", Type.Object({ name: Type.String() })) });
		expect(() =>
			spec.transformRoute({ body: namedSchema("ZoneCreate", Type.Object({ size: Type.Integer() })) }),
		).toThrow(/two different schemas are named ZoneCreate/);
	});

	it("keeps a named schema usable by TypeBox (a partial of it still has its properties)", () => {
		const Rates = namedSchema("Rates", Type.Object({ a: Type.String(), b: Type.String() }));
		expect(Object.keys(Type.Partial(Rates).properties)).toEqual(["a", "b"]);
	});

	it("composes an answer's example from its parts", () => {
		const Accepted = namedSchema("ZoneAccepted", Type.Object({ zone: Zone, kind: Type.Literal("zone") }));
		expect((Accepted as { examples?: unknown[] }).examples).toEqual([
			{ zone: { id: "0193a3b0-0a1b-7c2d-8e3f-4a5b6c7d8e9f", name: "dakhla-1" }, kind: "zone" },
		]);
		const Unknown = namedSchema("Free", Type.Object({ text: Type.String() }));
		expect(Unknown).not.toHaveProperty("examples");
	});
});

describe("access in words", () => {
	it("says who may call, from the rule the server enforces", () => {
		expect(accessDescription({ public: true })).toContain("public");
		expect(accessDescription({ role: "operator", tenant: true })).toBe("**Access:** operators only.");
		expect(accessDescription({ role: "member", tenant: true })).toContain("role `member` or `admin`");
		expect(accessDescription({ role: "viewer" })).toContain("any authenticated principal");
		expect(accessDescription({ role: "admin" })).toContain("role `admin`");
	});
});
