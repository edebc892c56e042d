/**
 * `pnpm bench`: runs every benchmark of the registry against the real server on the real
 * Postgres and Redis, prints our figure, the baseline measured in the same run and their ratio,
 * and writes bench/RESULTS.md with the machine's description.
 *
 *   pnpm bench                    full run (about ten minutes), writes bench/RESULTS.md
 *   pnpm bench --quick            smoke run of under a minute, prints only
 *   pnpm bench --only read-path   one benchmark (repeatable), prints only
 *   pnpm bench --write            also write RESULTS.md from a --quick or --only run
 */
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildServer } from "../services/server/build";
import { type BenchFigure, releaseAll } from "./harness";
import { BENCHMARKS } from "./registry";
import { describeMachine, textTable, writeResults } from "./report";

const { values } = parseArgs({
	options: {
		quick: { type: "boolean", default: false },
		only: { type: "string", multiple: true },
		write: { type: "boolean", default: false },
	},
});
const only = values.only ?? [];
const unknown = only.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
	console.error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
	process.exit(2);
}

// The servers under test run the compiled output, as production does: built from the sources now.
await buildServer();
const machine = await describeMachine();
const figures: BenchFigure[] = [];
const started = Date.now();
let failed = false;
try {
	for (const entry of BENCHMARKS) {
		if (only.length > 0 && !only.includes(entry.name)) continue;
		const t0 = Date.now();
		console.log(`# ${entry.name}${values.quick ? " (quick)" : ""}`);
		try {
			const run = await entry.load();
			const results = await run({ quick: values.quick });
			figures.push(...results);
			console.log(textTable(results));
			for (const result of results) if (result.note) console.log(`- ${result.metric}: ${result.note}`);
		} catch (error) {
			// One broken benchmark must not hide the others' figures; the run still fails at the end.
			failed = true;
			console.error(error);
			figures.push({
				benchmark: entry.name,
				metric: "(failed)",
				ours: Number.NaN,
				baseline: null,
				baselineName: "",
				unit: "",
				ratio: null,
				goal: "",
				met: false,
				note: `the benchmark failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`,
			});
		} finally {
			await releaseAll();
		}
		console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
	}
} finally {
	await releaseAll();
}

console.log(textTable(figures));
console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (values.write || (!values.quick && only.length === 0)) {
	machine.load.end = loadavg()[0];
	const path = fileURLToPath(new URL("./RESULTS.md", import.meta.url));
	writeResults(path, figures, machine, values.quick);
	console.log(`wrote ${path}`);
}
process.exit(failed ? 1 : 0);
