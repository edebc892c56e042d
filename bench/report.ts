import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { testServerUrl } from "@igoudar/db/testing";
import { Redis } from "ioredis";
import pg from "pg";
import type { BenchFigure } from "./harness";

export interface Machine {
	cores: number;
	cpu: string;
	memoryGib: number;
	node: string;
	postgres: string;
	redis: string;
	date: string;
	/** The 1-minute load average when the run started and when it ended: how shared the machine was. */
	load: { start: number; end?: number };
}

export async function describeMachine(): Promise<Machine> {
	const client = new pg.Client({ connectionString: testServerUrl });
	const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true });
	try {
		await client.connect();
		const { rows } = await client.query<{ server_version: string }>("show server_version");
		await redis.connect();
		const info = await redis.info("server");
		return {
			cores: cpus().length,
			cpu: cpus()[0]?.model.trim() ?? "unknown",
			memoryGib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
			node: process.version,
			postgres: rows[0]?.server_version ?? "unknown",
			redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
			date: new Date().toISOString(),
			load: { start: loadavg()[0] ?? 0 },
		};
	} finally {
		redis.disconnect();
		await client.end();
	}
}

function number(value: number | null): string {
	if (value === null || Number.isNaN(value)) return "-";
	if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
	if (Math.abs(value) >= 10) return value.toFixed(1);
	return value.toFixed(2);
}

function metText(met: boolean | null): string {
	return met === null ? "-" : met ? "yes" : "NO";
}

const COLUMNS = ["benchmark", "metric", "ours", "baseline", "ratio", "goal", "met"] as const;

function rows(figures: BenchFigure[]): string[][] {
	return figures.map((f) => [
		f.benchmark,
		f.metric,
		`${number(f.ours)} ${f.unit}`,
		f.baseline === null ? "-" : `${number(f.baseline)} (${f.baselineName})`,
		number(f.ratio),
		f.goal,
		metText(f.met),
	]);
}

/** The table printed on the terminal: columns padded to their widest cell. */
export function textTable(figures: BenchFigure[]): string {
	const all = [[...COLUMNS], ...rows(figures)];
	const widths = COLUMNS.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
	return all.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ")).join("\n");
}

export function writeResults(path: string, figures: BenchFigure[], machine: Machine, quick: boolean): void {
	const table = [
		`| ${COLUMNS.join(" | ")} |`,
		`|${COLUMNS.map(() => " --- ").join("|")}|`,
		...rows(figures).map((r) => `| ${r.join(" | ")} |`),
	];
	const notes = figures.filter((f) => f.note).map((f) => `- **${f.benchmark} / ${f.metric}**: ${f.note}`);
	const text = [
		"# Benchmark results",
		"",
		`Written by \`pnpm bench${quick ? " --quick" : ""}\` on ${machine.date}. Each ratio compares two figures measured in the same run on the same machine, so ratios, not absolute rates, are what carries across machines.`,
		"",
		"## Machine",
		"",
		`- ${machine.cores} cores (${machine.cpu}), ${machine.memoryGib} GiB memory`,
		`- Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}`,
		"- The load generator, the server, Postgres and Redis all share these cores.",
		`- Load average (1 min) ${machine.load.start.toFixed(1)} at the start of the run, ${(machine.load.end ?? Number.NaN).toFixed(1)} at its end: above the core count, other work shared the machine and absolute rates are low by about that factor; ratios within the run still compare like with like.`,
		"",
		"## Figures",
		"",
		...table,
		"",
		...(notes.length > 0 ? ["## Notes", "", ...notes, ""] : []),
	].join("\n");
	writeFileSync(path, text);
	// Formatted as the repository's style check expects, so a fresh run never fails the lint test.
	execFileSync("pnpm", ["exec", "biome", "format", "--write", path], { stdio: "ignore" });
}
