import { invoices } from "@igoudar/db";
import { eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	BillingHarness,
	HOUR,
	insertInstanceLifecycle,
	insertStorageLifecycle,
	microsOfIso,
	waitForOperations,
} from "./support";

/** Invoice runs and finalizes at once, for real: parallel requests, workers running jobs in parallel. */

let h: BillingHarness;
let planId: string;
const tenants: string[] = [];

beforeAll(async () => {
	h = await BillingHarness.start();
	await h.startWorkers(10);
	planId = (
		await h.createPlan({
			rates: { vcpu_hour: "0.02", memory_gib_hour: "0.003", volume_gib_month: "0.4", snapshot_gib_month: "0.1" },
			tax_rate: "0.2",
		})
	).id;
	// Eight tenants, each with an instance running through June and July and a volume.
	for (let i = 0; i < 8; i++) {
		const tenant = await h.tenantOnPlan(planId);
		tenants.push(tenant);
		const start = microsOfIso("2026-06-01T00:00:00Z") + BigInt(i) * HOUR;
		await insertInstanceLifecycle(h.db, tenant, { vcpus: 1 + i, memoryMib: 2048 }, [
			{ status: "running", at: start },
			{ status: "deleted", at: microsOfIso("2026-07-20T00:00:00Z") },
		]);
		await insertStorageLifecycle(h.db, tenant, "volume", [{ status: "in_use", at: start, sizeGib: 10 + i }]);
	}
}, 60_000);
afterAll(async () => {
	await h?.close();
});

async function runInParallel(count: number, periodStart: string, periodEnd: string): Promise<void> {
	const token = await h.operator();
	const accepted = await Promise.all(
		Array.from({ length: count }, () =>
			h.t.request<{ operation: { id: string } }>("POST", "/v1/invoices/run", {
				token,
				body: { period_start: periodStart, period_end: periodEnd },
			}),
		),
	);
	expect(accepted.map((res) => res.status)).toEqual(accepted.map(() => 202));
	await h.t.platform.relay?.relayAll();
	const ended = await waitForOperations(
		h.db,
		accepted.map((res) => res.body.operation.id),
		30_000,
	);
	expect(ended).toEqual(ended.map(() => "succeeded"));
}

async function invoicesPerTenant(periodStart: string): Promise<number[]> {
	const rows = await h.db
		.select({ tenantId: invoices.tenantId, n: sql<number>`count(*)::int` })
		.from(invoices)
		.where(eq(invoices.periodStart, new Date(periodStart)))
		.groupBy(invoices.tenantId);
	const counts = new Map(rows.map((row) => [row.tenantId, row.n]));
	return tenants.map((tenant) => counts.get(tenant) ?? 0);
}

describe("parallel invoice runs", () => {
	it("two runs of June at once make one invoice per tenant", async () => {
		await runInParallel(2, "2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z");
		expect(await invoicesPerTenant("2026-06-01T00:00:00Z")).toEqual(tenants.map(() => 1));
	});

	it("ten runs of July (and June again) at once make one invoice per tenant and month", async () => {
		await runInParallel(10, "2026-06-01T00:00:00Z", "2026-08-01T00:00:00Z");
		expect(await invoicesPerTenant("2026-06-01T00:00:00Z")).toEqual(tenants.map(() => 1));
		expect(await invoicesPerTenant("2026-07-01T00:00:00Z")).toEqual(tenants.map(() => 1));
	});
});

describe("finalizing", () => {
	it("gives gapless numbers under parallel finalizes, each invoice once, and then never changes it", async () => {
		const token = await h.operator();
		const drafts = await h.db.select().from(invoices).where(eq(invoices.status, "draft"));
		expect(drafts).toHaveLength(tenants.length * 2);
		// Every draft finalized twice at once: one of each pair wins, the other is told 409.
		const answers = await Promise.all(
			[...drafts, ...drafts].map((invoice) =>
				h.t.request<{ number: string; code: string }>(
					"POST",
					`/v1/tenants/${invoice.tenantId}/invoices/${invoice.id}/finalize`,
					{ token },
				),
			),
		);
		expect(answers.filter((res) => res.status === 200)).toHaveLength(drafts.length);
		expect(answers.filter((res) => res.status === 409 && res.body.code === "conflict")).toHaveLength(drafts.length);

		const finalized = await h.db
			.select({ number: invoices.number })
			.from(invoices)
			.where(
				inArray(
					invoices.id,
					drafts.map((d) => d.id),
				),
			);
		const year = new Date().getUTCFullYear();
		const sequence = finalized.map((row) => {
			const match = /^IGD-(\d{4})-(\d{6})$/.exec(row.number ?? "");
			expect(match?.[1]).toBe(String(year));
			return Number(match?.[2]);
		});
		expect(sequence.sort((a, b) => a - b)).toEqual(Array.from({ length: drafts.length }, (_, i) => i + 1));

		// Frozen below the API as well: the database refuses any change to a finalized invoice.
		const [first] = drafts;
		if (!first) throw new Error("no invoice");
		await expect(
			h.db
				.update(invoices)
				.set({ totalMicros: 0n, subtotalMicros: 0n, taxMicros: 0n })
				.where(eq(invoices.id, first.id)),
		).rejects.toThrow();
		await expect(h.db.delete(invoices).where(eq(invoices.id, first.id))).rejects.toThrow();
	});
});
