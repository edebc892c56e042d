import { Type } from "typebox";
import { describe, expect, it } from "vitest";
import { assertJobPayload, catalogQueues, defineCatalog, defineJob, JobPayloadError, looksLikeSecret } from "./catalog";

const backoff = { type: "exponential", delay: 1_000 } as const;
const Ids = Type.Object(
	{ instanceId: Type.String({ format: "uuid" }), volumeIds: Type.Array(Type.String({ format: "uuid" })) },
	{ additionalProperties: false },
);

describe("defineJob", () => {
	it("accepts a job whose payload carries ids", () => {
		const job = defineJob({ name: "instance.create", queue: "compute", payload: Ids, attempts: 5, backoff });
		expect(job.name).toBe("instance.create");
	});

	it("refuses a payload field that looks like a secret, however deep", () => {
		const payload = Type.Object({
			instanceId: Type.String(),
			cloudInit: Type.Object({ rootPassword: Type.String() }),
		});
		expect(() => defineJob({ name: "instance.create", queue: "compute", payload, attempts: 1, backoff })).toThrow(
			/ids only, never secrets; remove \/cloudInit\/rootPassword/,
		);
	});

	it("tells secrets from ids by the words of the field name", () => {
		for (const field of ["clientSecret", "client_secret", "api_key", "privateKey", "token", "accessToken"]) {
			expect(looksLikeSecret(field), field).toBe(true);
		}
		for (const field of ["tokenId", "serviceAccountTokenId", "secretIds", "instanceId", "keyboard"]) {
			expect(looksLikeSecret(field), field).toBe(false);
		}
	});

	it("refuses names BullMQ would trip on and retry counts that make no sense", () => {
		const base = { name: "a.b", queue: "q", payload: Ids, attempts: 1, backoff };
		expect(() => defineJob({ ...base, queue: "compute:high" })).toThrow(/Queue name/);
		expect(() => defineJob({ ...base, name: "Instance Create" })).toThrow(/Job name/);
		expect(() => defineJob({ ...base, attempts: 0 })).toThrow(/attempts/);
	});
});

describe("defineCatalog", () => {
	it("refuses a key that names another job, and lists each queue once", () => {
		const create = defineJob({ name: "volume.create", queue: "storage", payload: Ids, attempts: 3, backoff });
		const remove = defineJob({ name: "volume.delete", queue: "storage", payload: Ids, attempts: 3, backoff });
		const bill = defineJob({ name: "invoice.issue", queue: "billing", payload: Ids, attempts: 3, backoff });
		expect(() => defineCatalog({ "volume.delete": create })).toThrow(/holds job "volume.create"/);
		const catalog = defineCatalog({ "volume.create": create, "volume.delete": remove, "invoice.issue": bill });
		expect(catalogQueues(catalog)).toEqual(["storage", "billing"]);
	});
});

describe("assertJobPayload", () => {
	const job = defineJob({ name: "instance.create", queue: "compute", payload: Ids, attempts: 1, backoff });

	it("passes a payload that matches", () => {
		const payload: unknown = { instanceId: "0190a1b2-0000-7000-8000-000000000000", volumeIds: [] };
		expect(() => assertJobPayload(job, payload)).not.toThrow();
		expect(() => assertJobPayload(job, { instanceId: "not-a-uuid", volumeIds: [] })).toThrow();
	});

	it("names every problem of a payload that does not", () => {
		let error: unknown;
		try {
			assertJobPayload(job, { instanceId: "nope", volumeIds: [], extra: 1 });
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(JobPayloadError);
		const paths = (error as JobPayloadError).errors.map((problem) => problem.path);
		expect(paths).toContain("/instanceId");
		expect((error as JobPayloadError).message).toMatch(/instance.create/);
	});
});
