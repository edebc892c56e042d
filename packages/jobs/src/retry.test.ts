import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import {
	assertRetryPolicy,
	DEFAULT_RETRY_POLICY,
	RetryStepError,
	requestedBackoff,
	retryBudgetMs,
	retryDelayMs,
} from "./retry";

describe("step retry policy", () => {
	const policy = { attempts: 10, baseDelayMs: 1_000, maxDelayMs: 30_000 };

	it("doubles the delay from the base up to the cap, with jitter between half and all of it", () => {
		expect(retryDelayMs(policy, 1, () => 0)).toBe(500);
		expect(retryDelayMs(policy, 1, () => 1)).toBe(1_000);
		expect(retryDelayMs(policy, 3, () => 1)).toBe(4_000);
		expect(retryDelayMs(policy, 6, () => 0)).toBe(15_000);
		expect(retryDelayMs(policy, 6, () => 1)).toBe(30_000);
		expect(retryDelayMs(policy, 500, () => 1)).toBe(30_000);
		for (let failures = 1; failures < 20; failures++) {
			const delay = retryDelayMs(policy, failures);
			expect(delay).toBeGreaterThanOrEqual(250);
			expect(delay).toBeLessThanOrEqual(30_000);
		}
	});

	it("by default rides out a data-plane outage of a few minutes before giving up", () => {
		// Even with every jittered delay at its minimum (half), the tries span more than two minutes.
		expect(retryBudgetMs(DEFAULT_RETRY_POLICY) / 2).toBeGreaterThan(120_000);
		expect(retryBudgetMs(DEFAULT_RETRY_POLICY)).toBeLessThanOrEqual(10 * 60_000);
	});

	it("refuses a policy that cannot work", () => {
		expect(() => assertRetryPolicy({ ...policy, attempts: 0 })).toThrow(/attempts/);
		expect(() => assertRetryPolicy({ ...policy, baseDelayMs: -1 })).toThrow(/base/);
		expect(() => assertRetryPolicy({ ...policy, maxDelayMs: 10 })).toThrow(/max/);
		expect(assertRetryPolicy(policy)).toBe(policy);
	});

	it("gives BullMQ the delay the failed run asked for, else a capped exponential one", () => {
		expect(requestedBackoff(3, "requested", new RetryStepError("boom", 1_234, undefined))).toBe(1_234);
		const fallback = requestedBackoff(3, "requested", new UnrecoverableError("x"));
		expect(fallback).toBeGreaterThanOrEqual(2_000);
		expect(fallback).toBeLessThanOrEqual(4_000);
	});
});
