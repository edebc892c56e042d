import { describe, expect, it } from "vitest";
import { Coalescer, failedWith, succeeded } from "./coalescer";

/** A coalescer whose batches wait for `release()`, recording what each batch carried. */
function gated() {
	const batches: number[][] = [];
	let open: (() => void) | undefined;
	const coalescer = new Coalescer<number, number>(
		async (items) => {
			batches.push(items);
			await new Promise<void>((resolve) => {
				open = resolve;
			});
			return items.map((item) => (item < 0 ? failedWith<number>(new Error(`refused ${item}`)) : succeeded(item * 10)));
		},
		{ keyOf: (item) => String(Math.abs(item) % 100), maxBatch: 4 },
	);
	const release = async () => {
		while (!open) await new Promise((resolve) => setImmediate(resolve));
		const go = open;
		open = undefined;
		go();
	};
	return { coalescer, batches, release };
}

describe("Coalescer", () => {
	it("sends what arrives in one tick together, and what arrives meanwhile in the next batch", async () => {
		const { coalescer, batches, release } = gated();
		const first = [1, 2, 3].map((n) => coalescer.submit(n));
		await release();
		expect(await Promise.all(first)).toEqual([10, 20, 30]);
		const during = [4, 5].map((n) => coalescer.submit(n));
		const later = [6].map((n) => coalescer.submit(n));
		await release();
		expect(await Promise.all([...during, ...later])).toEqual([40, 50, 60]);
		expect(batches).toEqual([
			[1, 2, 3],
			[4, 5, 6],
		]);
	});

	it("keeps one batch in flight: items submitted while it runs wait for it", async () => {
		const { coalescer, batches, release } = gated();
		const a = coalescer.submit(1);
		await new Promise((resolve) => setImmediate(resolve));
		const b = coalescer.submit(2);
		const c = coalescer.submit(3);
		expect(batches).toEqual([[1]]);
		await release();
		await release();
		expect(await Promise.all([a, b, c])).toEqual([10, 20, 30]);
		expect(batches).toEqual([[1], [2, 3]]);
	});

	it("never puts two items with one key in a batch, and caps the batch size", async () => {
		const { coalescer, batches, release } = gated();
		const all = [1, 101, 2, 3, 4, 5].map((n) => coalescer.submit(n));
		await release();
		await release();
		expect(await Promise.all(all)).toEqual([10, 1010, 20, 30, 40, 50]);
		expect(batches).toEqual([
			[1, 2, 3, 4],
			[101, 5],
		]);
	});

	it("fails only the item the batch refused, and every item when the batch itself fails", async () => {
		const { coalescer, release } = gated();
		const outcomes = Promise.allSettled([1, -2, 3].map((n) => coalescer.submit(n)));
		await release();
		const settled = await outcomes;
		expect(settled.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);

		const broken = new Coalescer<number, number>(async () => {
			throw new Error("connection lost");
		});
		const failures = await Promise.allSettled([1, 2].map((n) => broken.submit(n)));
		expect(failures.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "ok"))).toEqual([
			"Error: connection lost",
			"Error: connection lost",
		]);
		expect(broken.stats).toEqual({ batches: 1, items: 2 });
	});
});
