import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

/** One scenario's figures, printed after the run and, for a full run, kept in docs/reliability.md. */
export interface FaultFigures {
	scenario: string;
	operations: number;
	faults: string;
	/** From the last fault until every operation had ended. */
	recoverMs: number;
	totalMs: number;
	succeeded: number;
	failed: number;
	failedBy: Record<string, number>;
	drift: number;
	problems: string[];
	/** Answers other than 202 the traffic got, by status (503s while a dependency was down). */
	refused: Record<number, number>;
}

const docPath = fileURLToPath(new URL("../../../docs/reliability.md", import.meta.url));
const BEGIN = "<!-- fault-suite:begin -->";
const END = "<!-- fault-suite:end -->";

function machine(): string {
	const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
	return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function table(figures: FaultFigures[]): string {
	const lines = [
		"| scenario | operations | faults | succeeded | failed | refused requests | all ended (after the last fault) | drift | problems |",
		"| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |",
	];
	for (const f of figures) {
		const refused =
			Object.entries(f.refused)
				.map(([status, n]) => `${n} x ${status}`)
				.join(", ") || "none";
		const failed = Object.entries(f.failedBy)
			.map(([code, n]) => `${n} ${code}`)
			.join(", ");
		lines.push(
			`| ${f.scenario} | ${f.operations} | ${f.faults} | ${f.succeeded} | ${f.failed}${failed ? ` (${failed})` : ""} | ${refused} | ${(f.recoverMs / 1000).toFixed(1)} s | ${f.drift} | ${f.problems.length} |`,
		);
	}
	return lines.join("\n");
}

export function reportFigures(figures: FaultFigures[], full: boolean): void {
	if (figures.length === 0) return;
	const text = table(figures);
	console.log(`\nFault suite (${full ? "full" : "short"}) on ${machine()}\n${text}\n`);
	if (!full) return;
	const section = `${BEGIN}\nLast full run: ${new Date().toISOString().slice(0, 10)}, on ${machine()}.\n\n${text}\n${END}`;
	const doc = readFileSync(docPath, "utf8");
	const begin = doc.indexOf(BEGIN);
	const end = doc.indexOf(END);
	const next =
		begin >= 0 && end > begin ? doc.slice(0, begin) + section + doc.slice(end + END.length) : `${doc}\n${section}\n`;
	writeFileSync(docPath, next);
	// Aligned as the formatter wants it, so the lint stays green after a full run.
	const biome = fileURLToPath(new URL("../../../node_modules/.bin/biome", import.meta.url));
	execFileSync(biome, ["format", "--write", docPath], { stdio: "ignore" });
}
