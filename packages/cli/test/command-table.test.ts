import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { leafCommands } from "../src/completion.js";
import { buildProgram, main, RESOURCES } from "../src/index.js";
import { flagName } from "../src/options.js";

/** The action of the command table that sends each request body of the spec. */
const BODY_OF: Record<string, string> = {
	"tenants create": "tenantCreate",
	"tenants update": "tenantUpdate",
	"service-accounts create": "serviceAccountCreate",
	"quotas set": "quotaUpdate",
	"quota-defaults set": "quotaDefaultsUpdate",
	"placement-settings set": "placementSettingsUpdate",
	"zones create": "zoneCreate",
	"hosts create": "hostCreate",
	"hosts update": "hostUpdate",
	"flavors create": "flavorCreate",
	"placement-groups create": "placementGroupCreate",
	"instances create": "instanceCreate",
	"storage-pools create": "storagePoolCreate",
	"storage-pools update": "storagePoolUpdate",
	"volumes create": "volumeCreate",
	"volumes attach": "volumeAttach",
	"volumes resize": "volumeResize",
	"snapshots create": "snapshotCreate",
	"price-plans create": "pricePlanCreate",
	"price-plans add-version": "pricePlanVersionCreate",
	"invoices run": "invoiceRunCreate",
	"sites create": "siteCreate",
};
/** Bodies sent whole from a file, or not by a resource command at all. */
const NOT_FLAGS = new Set(["authToken", "siteReadingsRecord"]);

type Schema = { $ref?: string; properties?: Record<string, Schema> };
const spec = JSON.parse(readFileSync(new URL("../../../openapi/igoudar.json", import.meta.url), "utf8")) as {
	paths: Record<
		string,
		Record<string, { operationId?: string; requestBody?: { content: Record<string, { schema: Schema }> } }>
	>;
	components: { schemas: Record<string, Schema> };
};
const resolve = (schema: Schema): Schema =>
	schema.$ref ? (spec.components.schemas[schema.$ref.split("/").at(-1) ?? ""] ?? {}) : schema;

/** Every field of a body as the table keys it: nested fixed objects dotted, free maps whole. */
function bodyKeys(schema: Schema): string[] {
	return Object.entries(resolve(schema).properties ?? {}).flatMap(([key, value]) => {
		const nested = resolve(value).properties;
		return nested && Object.keys(nested).length > 0 ? Object.keys(nested).map((inner) => `${key}.${inner}`) : [key];
	});
}

describe("the command table", () => {
	it("has a flag for every field of every request body in the spec", () => {
		const bodies = Object.values(spec.paths).flatMap((operations) =>
			Object.values(operations).flatMap((operation) => {
				const schema = operation.requestBody?.content["application/json"]?.schema;
				return operation.operationId && schema ? [[operation.operationId, schema] as const] : [];
			}),
		);
		const mapped = new Set(Object.values(BODY_OF));
		expect(bodies.map(([id]) => id).filter((id) => !mapped.has(id) && !NOT_FLAGS.has(id))).toEqual([]);
		for (const [command, operationId] of Object.entries(BODY_OF)) {
			const [resourceName, actionName] = command.split(" ");
			const action = RESOURCES.find((r) => r.name === resourceName)?.actions.find((a) => a.name === actionName);
			const schema = bodies.find(([id]) => id === operationId)?.[1];
			expect(action, command).toBeDefined();
			expect((action?.body ?? []).map((field) => field.key).sort(), command).toEqual(bodyKeys(schema ?? {}).sort());
		}
	});

	it("gives every command --help with examples, exit 0", async () => {
		for (const command of leafCommands()) {
			let out = "";
			const stdout = new Writable({
				write(chunk, _encoding, done) {
					out += String(chunk);
					done();
				},
			});
			const io = { stdout, stderr: new Writable({ write: (_chunk, _encoding, done) => done() }) };
			const code = await main([...command.split(" "), "--help"], { io, env: {} });
			expect(code, command).toBe(0);
			expect(out, command).toContain("Examples:");
		}
	});

	it("names flags so that none of an action clashes with a global one", () => {
		const globals = new Set(
			buildProgram({ io: { stdout: process.stdout, stderr: process.stderr }, env: {} }).options.map((o) => o.long),
		);
		for (const resource of RESOURCES) {
			for (const action of resource.actions) {
				for (const field of [...(action.body ?? []), ...(action.query ?? [])]) {
					expect(globals.has(`--${flagName(field)}`), `${resource.name} ${action.name} --${flagName(field)}`).toBe(
						false,
					);
				}
			}
		}
	});
});
