import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROBLEM_CODES } from "@igoudar/kit";
import { describe, expect, it } from "vitest";

/**
 * What the committed spec promises its readers beyond what the lint rules check: named schemas
 * with examples, access rules, honest 400s and the response headers. The drift test keeps the
 * committed file equal to what the routes generate, so these hold for the code too.
 */

interface Media {
	schema?: { $ref?: string };
}
interface Response {
	description: string;
	headers?: Record<string, unknown>;
	content?: Record<string, Media>;
}
interface Operation {
	operationId: string;
	description?: string;
	parameters?: { name: string; in: string }[];
	requestBody?: { content: Record<string, Media> };
	responses: Record<string, Response>;
}
interface Spec {
	paths: Record<string, Record<string, Operation>>;
	components: {
		schemas: Record<
			string,
			{ examples?: unknown[]; required?: string[]; properties?: Record<string, { enum?: string[] }> }
		>;
	};
}

const root = fileURLToPath(new URL("../..", import.meta.url));
const spec = JSON.parse(readFileSync(join(root, "openapi/igoudar.json"), "utf8")) as Spec;
const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
	Object.entries(item).map(([method, operation]) => ({ method, path, ...operation })),
);
/** The spec describing itself: an OpenAPI document is not one of our schemas. */
const SELF = "openapiGet";

function componentOf(media: Media | undefined): string | undefined {
	return media?.schema?.$ref?.replace("#/components/schemas/", "");
}

describe("the committed spec", () => {
	it("names every JSON request body and success answer as a component, each with an example", () => {
		const unnamed: string[] = [];
		const named = new Set<string>();
		for (const op of operations) {
			const bodies = [
				op.requestBody?.content["application/json"],
				...Object.entries(op.responses)
					.filter(([status]) => status.startsWith("2"))
					.map(([, response]) => response.content?.["application/json"]),
			];
			for (const media of bodies) {
				if (!media || op.operationId === SELF) continue;
				const name = componentOf(media);
				if (name) named.add(name);
				else unnamed.push(op.operationId);
			}
		}
		expect(unnamed).toEqual([]);
		const withoutExample = [...named].filter((name) => !spec.components.schemas[name]?.examples?.length);
		expect(withoutExample).toEqual([]);
	});

	it("states who may call each operation", () => {
		const silent = operations.filter((op) => !op.description?.includes("**Access:**")).map((op) => op.operationId);
		expect(silent).toEqual([]);
		const access = (id: string) => operations.find((op) => op.operationId === id)?.description?.split("**Access:**")[1];
		expect(access("tenantCreate")).toContain("operators only");
		expect(access("instanceCreate")).toContain("`member` or `admin`");
		expect(access("instanceList")).toContain("`viewer`, `member` or `admin`");
		expect(access("healthCheck")).toContain("public");
	});

	it("documents 400 only where the operation takes some input", () => {
		const inputless = operations.filter((op) => !op.parameters?.length && !op.requestBody);
		expect(inputless.length).toBeGreaterThan(0);
		expect(inputless.filter((op) => "400" in op.responses).map((op) => op.operationId)).toEqual([]);
		const withInput = operations.filter((op) => op.parameters?.length || op.requestBody);
		expect(withInput.filter((op) => !("400" in op.responses)).map((op) => op.operationId)).toEqual([]);
	});

	it("documents x-request-id on every answer, Idempotent-Replayed on idempotent POSTs, Retry-After on 429", () => {
		for (const op of operations) {
			const idempotent = op.parameters?.some((p) => p.in === "header" && p.name === "idempotency-key");
			for (const [status, response] of Object.entries(op.responses)) {
				const where = `${op.operationId} ${status}`;
				expect(response.headers?.["x-request-id"], where).toBeDefined();
				if (status === "429") expect(response.headers?.["Retry-After"], where).toBeDefined();
				if (idempotent && status.startsWith("2"))
					expect(response.headers?.["Idempotent-Replayed"], where).toBeDefined();
			}
			if (op.method === "post" && op.operationId !== "authToken") expect(idempotent, op.operationId).toBe(true);
		}
	});

	it("publishes the problem codes as an enum and the request id as always present", () => {
		const problem = spec.components.schemas.Problem;
		expect(problem?.properties?.code?.enum).toEqual([...PROBLEM_CODES]);
		expect(problem?.required).toContain("request_id");
		expect(spec.components.schemas.ProblemFieldError).toBeDefined();
	});

	it("lists the API's own documents", () => {
		expect(spec.paths["/openapi.json"]?.get).toBeDefined();
		expect(spec.paths["/docs"]?.get).toBeDefined();
	});
});
