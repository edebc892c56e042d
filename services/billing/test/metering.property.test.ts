import { INSTANCE_STATUSES, invoiceLines, invoices, SNAPSHOT_STATUSES, VOLUME_STATUSES } from "@igoudar/db";
import { and, asc, eq, ne } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTenantInvoice } from "../src/index";
import { BillingHarness, HOUR, insertInstanceLifecycle, insertStorageLifecycle, microsOfIso } from "./support";

/**
 * For random lifecycles written into the event tables (statuses and sizes at random instants,
 * running on or ended, across the March boundaries) the usage the API reports for random windows
 * equals a reference computed here another way, and the March invoice, made under a plan whose
 * rate changes mid-month, has exactly the lines and totals the reference rating gives.
 *
 * The reference states the billing rules again on its own and measures with a running total
 * (usage in [a, b) = F(b) - F(a), F the billable weight-time before an instant) rather than by
 * clipping each interval to the window as the code does.
 */

const SPAN_START = microsOfIso("2026-02-01T00:00:00Z");
const SPAN_END = microsOfIso("2026-05-01T00:00:00Z");
const MARCH = { start: "2026-03-01T00:00:00.000Z", end: "2026-04-01T00:00:00.000Z" };
const MS = 1000n;

type Kind = "instance" | "volume" | "snapshot";
interface Step {
	gap: bigint;
	status: string;
	sizeGib: number;
}
interface Resource {
	kind: Kind;
	vcpus: number;
	memoryMib: number;
	start: bigint;
	steps: Step[];
	deleted: boolean;
}
type Meter = "vcpu_hours" | "memory_gib_hours" | "volume_gib_months" | "snapshot_gib_months";
const METERS: Meter[] = ["vcpu_hours", "memory_gib_hours", "volume_gib_months", "snapshot_gib_months"];

// The rules, stated again: instances bill while on; storage while it holds space and has not failed.
const billedWhile: Record<Kind, (status: string) => boolean> = {
	instance: (s) => s === "running" || s === "stopping" || s === "rebooting",
	volume: (s) => s !== "failed" && s !== "deleted",
	snapshot: (s) => s !== "failed" && s !== "deleted",
};
const HOUR_US = 3_600n * 1_000_000n;
const denominators: Record<Meter, bigint> = {
	vcpu_hours: HOUR_US,
	memory_gib_hours: 1024n * HOUR_US,
	volume_gib_months: 730n * HOUR_US,
	snapshot_gib_months: 730n * HOUR_US,
};

function weight(resource: Resource, step: Step, meter: Meter): bigint {
	if (!billedWhile[resource.kind](step.status)) return 0n;
	if (resource.kind === "instance") {
		if (meter === "vcpu_hours") return BigInt(resource.vcpus);
		return meter === "memory_gib_hours" ? BigInt(resource.memoryMib) : 0n;
	}
	return meter === `${resource.kind}_gib_months` ? BigInt(step.sizeGib) : 0n;
}

function timeline(resource: Resource): { at: bigint; step: Step }[] {
	let at = resource.start;
	const events = resource.steps.map((step) => {
		at += step.gap;
		return { at, step };
	});
	if (resource.deleted) events.push({ at: at + HOUR, step: { gap: 0n, status: "deleted", sizeGib: 1 } });
	return events;
}

/** F(t): the billable weight x microseconds of the resource before t. */
function before(resource: Resource, meter: Meter, t: bigint): bigint {
	const events = timeline(resource);
	let total = 0n;
	events.forEach(({ at, step }, index) => {
		const next = events[index + 1]?.at;
		const end = next === undefined || next > t ? t : next;
		if (end > at) total += weight(resource, step, meter) * (end - at);
	});
	return total;
}

function roundHalfEven(numerator: bigint, denominator: bigint): bigint {
	const floor = numerator / denominator;
	const twice = 2n * (numerator - floor * denominator);
	if (twice < denominator) return floor;
	if (twice > denominator) return floor + 1n;
	return floor % 2n === 0n ? floor : floor + 1n;
}

const decimal = (value: bigint, scale: number) => {
	const text = value.toString().padStart(scale + 1, "0");
	return `${text.slice(0, text.length - scale)}.${text.slice(text.length - scale)}`;
};

function referenceNanos(resources: Resource[], meter: Meter, from: bigint, to: bigint): bigint {
	const total = resources.reduce((sum, r) => sum + before(r, meter, to) - before(r, meter, from), 0n);
	return roundHalfEven(total * 1_000_000_000n, denominators[meter]);
}

const statusesOf: Record<Kind, readonly string[]> = {
	instance: INSTANCE_STATUSES,
	volume: VOLUME_STATUSES,
	snapshot: SNAPSHOT_STATUSES,
};

const resourceArb: fc.Arbitrary<Resource> = fc.constantFrom<Kind>("instance", "volume", "snapshot").chain((kind) =>
	fc.record({
		kind: fc.constant(kind),
		vcpus: fc.integer({ min: 1, max: 64 }),
		memoryMib: fc.integer({ min: 256, max: 262_144 }),
		start: fc.bigInt({ min: SPAN_START - 5n * 24n * HOUR, max: SPAN_END }),
		steps: fc.array(
			fc.record({
				// Microsecond instants: the meters must be exact to the microsecond.
				gap: fc.bigInt({ min: 1n, max: 25n * 24n * HOUR }),
				status: fc.constantFrom(...statusesOf[kind]),
				sizeGib: fc.integer({ min: 1, max: 4096 }),
			}),
			{ minLength: 1, maxLength: 7 },
		),
		deleted: fc.boolean(),
	}),
);

const windowArb = fc
	.tuple(
		fc.bigInt({ min: SPAN_START / MS - 10n * 24n * 3_600_000n, max: SPAN_END / MS }),
		fc.bigInt({ min: 1n, max: 60n * 24n * 3_600_000n }),
	)
	.map(([startMs, lengthMs]) => ({ from: startMs * MS, to: (startMs + lengthMs) * MS }));

let h: BillingHarness;
beforeAll(async () => {
	h = await BillingHarness.start();
});
afterAll(async () => {
	await h?.close();
});

describe("metering and rating against a reference (property)", () => {
	it("usage for random windows and March's invoice lines equal the reference", async () => {
		const rates = {
			v1: { vcpu_hour: "0.0125", memory_gib_hour: "0.0037", volume_gib_month: "0.35", snapshot_gib_month: "0.115" },
			v2: { vcpu_hour: "0.0133", memory_gib_hour: "0.0041", volume_gib_month: "0.295", snapshot_gib_month: "0.105" },
		};
		const micro = (text: string) => BigInt(text.replace(".", "").padEnd(text.indexOf(".") + 6, "0"));
		const token = await h.operator();
		await fc.assert(
			fc.asyncProperty(
				fc.array(resourceArb, { minLength: 1, maxLength: 6 }),
				fc.array(windowArb, { minLength: 1, maxLength: 3 }),
				fc.bigInt({ min: microsOfIso(MARCH.start) / MS + 1n, max: microsOfIso(MARCH.end) / MS - 1n }),
				async (resources, windows, changeMs) => {
					const change = new Date(Number(changeMs));
					const plan = await h.createPlan({ rates: rates.v1, tax_rate: "0.2", effective_at: "2026-01-01T00:00:00Z" }, [
						{ effective_at: change.toISOString(), rates: rates.v2, tax_rate: "0.1" },
					]);
					const tenant = await h.tenantOnPlan(plan.id);
					for (const resource of resources) {
						const events = timeline(resource).map(({ at, step }) => ({
							status: step.status,
							at,
							sizeGib: step.sizeGib,
						}));
						if (resource.kind === "instance") {
							await insertInstanceLifecycle(h.db, tenant, resource, events);
						} else {
							await insertStorageLifecycle(h.db, tenant, resource.kind, events);
						}
					}

					for (const window of windows) {
						const from = new Date(Number(window.from / MS)).toISOString();
						const to = new Date(Number(window.to / MS)).toISOString();
						const res = await h.t.request<{ items: { meter: Meter; quantity: string }[] }>(
							"GET",
							`/v1/tenants/${tenant}/usage?from=${from}&to=${to}`,
							{ token },
						);
						expect(res.status).toBe(200);
						const expected = {
							...Object.fromEntries(
								METERS.map((m) => [m, decimal(referenceNanos(resources, m, window.from, window.to), 9)]),
							),
							// No energy ledger rows for this tenant.
							energy_kwh: "0.000000000",
						};
						expect(Object.fromEntries(res.body.items.map((i) => [i.meter, i.quantity]))).toEqual(expected);
					}

					// March under two rate versions: v1 until the change, v2 after it.
					const march = { start: new Date(MARCH.start), end: new Date(MARCH.end) };
					const outcome = await makeTenantInvoice(h.db, h.settings, tenant, march, null);
					const [v1, v2] = plan.versions;
					const slices = [
						{ version: v1, rates: rates.v1, from: microsOfIso(MARCH.start), to: changeMs * MS },
						{ version: v2, rates: rates.v2, from: changeMs * MS, to: microsOfIso(MARCH.end) },
					];
					const expectedLines = slices.flatMap((slice) =>
						METERS.map((meter) => {
							const quantity = referenceNanos(resources, meter, slice.from, slice.to);
							const price = micro(slice.rates[meter.replace(/s$/, "") as keyof typeof rates.v1]);
							return {
								meter,
								version: slice.version?.id,
								quantity,
								price,
								amount: roundHalfEven(quantity * price, 1_000_000_000n * 10_000n) * 10_000n,
							};
						}).filter((line) => line.quantity !== 0n),
					);
					if (expectedLines.length === 0) {
						expect(outcome).toBe("nothing_to_bill");
						return;
					}
					expect(outcome).toBe("made");
					const [invoice] = await h.db.select().from(invoices).where(eq(invoices.tenantId, tenant));
					if (!invoice) throw new Error("no invoice");
					const lines = await h.db
						.select()
						.from(invoiceLines)
						.where(and(eq(invoiceLines.invoiceId, invoice.id), ne(invoiceLines.kind, "information")))
						.orderBy(asc(invoiceLines.position));
					expect(
						lines.map((l) => ({
							meter: l.meter,
							version: l.priceVersionId,
							quantity: l.quantityNanos,
							price: l.unitPriceMicros,
							amount: l.amountMicros,
						})),
					).toEqual(expectedLines);
					const subtotal = expectedLines.reduce((sum, line) => sum + line.amount, 0n);
					const tax = roundHalfEven(subtotal * 100_000n, 1_000_000n * 10_000n) * 10_000n;
					expect([invoice.subtotalMicros, invoice.taxMicros, invoice.totalMicros]).toEqual([
						subtotal,
						tax,
						subtotal + tax,
					]);
				},
			),
			{ numRuns: 15 },
		);
	}, 60_000);
});
