import { describe, expect, it } from "vitest";
import { ProblemError, problems } from "./errors";

describe("problem bodies", () => {
	it("a 500 says nothing about its cause", () => {
		const body = problems.internal().toBody("req-1");
		expect(body).toEqual({
			type: "https://igoudar.dev/problems/internal",
			title: "Internal error",
			status: 500,
			code: "internal",
			request_id: "req-1",
		});
	});

	it("other problems carry their detail, status and stable code", () => {
		const body = new ProblemError("no_capacity", "No host has room.").toBody("req-2");
		expect(body).toMatchObject({ status: 503, code: "no_capacity", detail: "No host has room.", request_id: "req-2" });
		expect(
			problems.quotaExceeded([{ resource: "vcpus", limit: 2, used: 2, requested: 1 }]).toBody("req-3"),
		).toMatchObject({
			status: 422,
			code: "quota_exceeded",
			errors: [{ resource: "vcpus", limit: 2, used: 2, requested: 1 }],
		});
	});
});
